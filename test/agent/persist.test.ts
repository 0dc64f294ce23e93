import { expect, test } from "bun:test";
import { encodeState, type PersistedState } from "../../src/agent/persist.ts";
import type { ServiceDef } from "../../src/agent/local_state.ts";

test("an entry that cannot be encoded is left out and reported; the others are saved", () => {
  const svc = (id: string, extra: unknown = null) => ({ service: { ID: id, Meta: { x: extra } } as unknown as ServiceDef, token: "", fromConfig: false });
  const state: PersistedState = { services: [svc("a"), svc("bad", 1n), svc("b")], checks: [], maintenance: [] };
  const skipped: string[] = [];
  const text = encodeState(state, (what) => skipped.push(what));
  expect(skipped).toEqual(['service "bad"']);
  const back = JSON.parse(text) as PersistedState;
  expect(back.services.map((s) => s.service.ID)).toEqual(["a", "b"]);
});
