/** What a loaded agent config must satisfy before the agent starts. */
import type { AgentConfig } from "./config.ts";
import { ConfigError } from "./config_error.ts";

/** Checks what a started agent relies on. */
export function validateConfig(cfg: AgentConfig): void {
  if (!cfg.dev && cfg.dataDir === "") throw new ConfigError("data_dir cannot be empty");
  if (cfg.gossip.encrypt !== "") {
    let raw = "";
    try {
      if (/^[A-Za-z0-9+/]*={0,2}$/.test(cfg.gossip.encrypt)) raw = atob(cfg.gossip.encrypt);
    } catch {
      raw = "";
    }
    if (![16, 24, 32].includes(raw.length)) throw new ConfigError(`Failed to decode encrypt key: the key must be 16, 24 or 32 bytes of base64 (got ${JSON.stringify(cfg.gossip.encrypt)})`);
  }
  if (cfg.bootstrapExpect > 1 && cfg.nats.urls.length === 0) {
    throw new ConfigError(`bootstrap_expect = ${cfg.bootstrapExpect} needs a server cluster, whose log lives in NATS JetStream: give the NATS servers with -nats (or nats.urls), or use -bootstrap for a single server`);
  }
  if (cfg.nats.urls.length > 0 && !cfg.server) throw new ConfigError("-nats is for server agents (a cluster's shared log); client agents reach the servers over RPC");
  if (cfg.nats.urls.length > 0 && cfg.dev) throw new ConfigError("-dev keeps the log in memory; it cannot be combined with -nats");
  if (cfg.nats.urls.length > 0 && cfg.bootstrap && cfg.bootstrapExpect > 1) throw new ConfigError("Bootstrap mode and bootstrap_expect are mutually exclusive");
  if (cfg.nodeName === "") throw new ConfigError("node_name cannot be empty");
  for (const [name, port] of Object.entries(cfg.ports)) {
    // Consul turns the DNS and HTTP(S) interfaces off with -1.
    const min = name === "dns" || name === "http" || name === "https" ? -1 : 0;
    if (port < min || port > 65535) throw new ConfigError(`ports.${name} out of range: ${port}`);
  }
}
