/** What to tell someone whose agent did not start, beyond the error itself. */
import type { AgentConfig } from "../agent/mod.ts";

/** Each port an agent binds: the flag and the config key that move it. */
const PORTS = [
  ["http", "-http-port", "http"],
  ["dns", "-dns-port", "dns"],
  ["server", "-server-port", "server"],
  ["serfLan", "-serf-lan-port", "serf_lan"],
  ["serfWan", "-serf-wan-port", "serf_wan"],
] as const;

/**
 * For "address already in use": which flag (or `ports` key of a config file)
 * picks another port, e.g. when a second agent runs on the same machine.
 */
export function portInUseHint(message: string, ports: AgentConfig["ports"]): string | null {
  if (!/EADDRINUSE|address already in use|port \d+ in use/i.test(message)) return null;
  const found = [...message.matchAll(/(?::|port )(\d{1,5})\b/g)].map((m) => Number(m[1]));
  const port = found[found.length - 1];
  const entry = PORTS.find(([key]) => ports[key] === port);
  if (port === undefined || !entry) return null;
  const [, flag, key] = entry;
  return `Port ${port} is already taken (another agent on this machine?). Stop that process, or give this agent another port with ${flag} (or "ports": {"${key}": ...} in a config file).`;
}

