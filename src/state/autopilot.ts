/**
 * Autopilot configuration in the replicated state (Consul's AutopilotRequestType):
 * one row, written whole, optionally check-and-set on its ModifyIndex.
 */
import { bump, touch, type WriteContext } from "./context.ts";
import type { Tables } from "./tables.ts";
import type { AutopilotConfigBody, AutopilotConfigRow } from "../structs/autopilot.ts";

export const AUTOPILOT_TABLE = "autopilot-config";
export const AUTOPILOT_KEY = "config";

/** Stores the configuration; with `CAS`, only if the stored ModifyIndex equals it (0: none stored). Answers whether it was stored. */
export function applyAutopilotSet(ctx: WriteContext, config: AutopilotConfigBody, cas?: number): boolean {
  const existing = ctx.t.autopilot.get(AUTOPILOT_KEY);
  if (cas !== undefined && (existing?.ModifyIndex ?? 0) !== cas) return false;
  const row: AutopilotConfigRow = { ...config, CreateIndex: existing?.CreateIndex ?? ctx.index, ModifyIndex: ctx.index };
  ctx.t.autopilot.set(AUTOPILOT_KEY, row);
  bump(ctx, AUTOPILOT_TABLE);
  touch(ctx, AUTOPILOT_TABLE);
  return true;
}

export function autopilotConfig(t: Tables): { index: number; value: AutopilotConfigRow | null } {
  return { index: t.index(AUTOPILOT_TABLE), value: t.autopilot.get(AUTOPILOT_KEY) ?? null };
}
