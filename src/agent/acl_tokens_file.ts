/**
 * `enable_token_persistence`: tokens set through `PUT /v1/agent/token/:type`
 * are kept in `<data_dir>/acl-tokens.json` (Consul's token store file, same
 * name and keys) and win over the configuration's tokens after a restart.
 * Only API-set tokens are written; the file is replaced atomically, mode 0600.
 */
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { TokenName } from "./acl.ts";

export const TOKENS_FILE = "acl-tokens.json";

/** The file's keys (Consul's persistedTokens); `agent_master` is read for files from before 1.11. */
const KEYS: readonly TokenName[] = ["default", "agent", "agent_recovery", "replication", "dns", "config_file_service_registration"];

export function tokensFilePath(dataDir: string): string {
  return join(dataDir, TOKENS_FILE);
}

/** The persisted tokens; a missing file holds none. A damaged file is an error naming it (Consul logs it and goes on with the config's tokens). */
export async function loadPersistedTokens(file: string): Promise<Partial<Record<TokenName, string>>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return {};
    throw new Error(`failed reading tokens file "${file}": ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`failed to decode tokens file "${file}": ${(err as Error).message}`, { cause: err });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error(`failed to decode tokens file "${file}": not an object`);
  const obj = raw as Record<string, unknown>;
  const out: Partial<Record<TokenName, string>> = {};
  for (const k of KEYS) if (typeof obj[k] === "string" && obj[k] !== "") out[k] = obj[k];
  if (!out.agent_recovery && typeof obj["agent_master"] === "string" && obj["agent_master"] !== "") out.agent_recovery = obj["agent_master"];
  return out;
}

export async function savePersistedTokens(file: string, tokens: Partial<Record<TokenName, string>>): Promise<void> {
  const body: Record<string, string> = {};
  for (const k of KEYS) if (tokens[k]) body[k] = tokens[k];
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(body), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}
