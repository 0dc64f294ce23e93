/** `consulate agent`: runs an agent until SIGINT/SIGTERM (Consul's command/agent). */
import { boolFlag, type Flag, FlagError, HelpRequested, intFlag, listFlag, parseFlags, stringFlag, usage } from "./flags.ts";
import {
  type AgentConfig,
  ConfigError,
  createLogger,
  defaultConfig,
  devConfig,
  isLogLevel,
  loadConfigDir,
  loadConfigFile,
  startAgent,
  validateConfig,
} from "../agent/mod.ts";
import { splitUrls } from "../agent/config_nats.ts";
import { normalizeContentPath } from "../agent/config_ui.ts";
import { federationNatsFlag } from "../../federation/config.ts";
import { portInUseHint } from "./agent_hints.ts";
import { LogBroker } from "../agent/log_broker.ts";
import { onSignal, writeStderr, writeStdout } from "../runtime/process.ts";
import { boundAgentHeapGrowth } from "../runtime/gc.ts";
import { parseGoDuration } from "../structs/duration.ts";
import { VERSION } from "../version.ts";

const spec = {
  dev: boolFlag(false, "Starts the agent in development mode: a server with its log in memory."),
  server: boolFlag(false, "Switches the agent to server mode."),
  bootstrap: boolFlag(false, "Sets server to bootstrap mode."),
  "bootstrap-expect": intFlag(0, "Sets server to expect bootstrap mode."),
  node: stringFlag("", "Name of this node. Must be unique in the cluster."),
  "node-id": stringFlag("", "A unique ID for this node across space and time."),
  datacenter: stringFlag("", "Datacenter of the agent."),
  "primary-datacenter": stringFlag("", "The datacenter authoritative for ACLs, intentions and the CA."),
  bind: stringFlag("", "Sets the bind address for cluster communication."),
  client: stringFlag("", "Sets the address to bind for client access (HTTP, DNS)."),
  advertise: stringFlag("", "Sets the advertise address to use."),
  "http-port": intFlag(-2, "Sets the HTTP API port to listen on."),
  "https-port": intFlag(-2, "Sets the HTTPS API port to listen on."),
  "dns-port": intFlag(-2, "DNS port to use."),
  domain: stringFlag("", "Domain to use for DNS interface."),
  "alt-domain": stringFlag("", "Alternate domain to use for DNS interface."),
  recursor: listFlag("Address of an upstream DNS server. Can be specified multiple times."),
  "server-port": intFlag(-2, "Sets the server port to listen on."),
  "serf-lan-port": intFlag(-2, "Sets the Serf LAN port to listen on."),
  "serf-wan-port": intFlag(-2, "Sets the Serf WAN port to listen on."),
  join: listFlag("Address of an agent to join at start time. Can be specified multiple times."),
  "retry-join": listFlag("Address of an agent to join at start time with retries enabled. Can be specified multiple times."),
  "retry-interval": stringFlag("", "Time to wait between join attempts."),
  "retry-max": intFlag(-1, "Maximum number of join attempts. Defaults to 0, which will retry indefinitely."),
  "join-wan": listFlag("Address of a server in another datacenter to join at start time (WAN pool). Can be specified multiple times."),
  "retry-join-wan": listFlag("Address of a server in another datacenter to join with retries enabled (WAN pool). Can be specified multiple times."),
  "advertise-wan": stringFlag("", "Sets address to advertise on WAN instead of -advertise address."),
  "federation-nats": listFlag("NATS URL(s) of this datacenter that carry requests from other datacenters (servers; default: -nats). Comma-separated or repeated."),
  rejoin: boolFlag(false, "Ignores a previous leave and attempts to rejoin the cluster."),
  encrypt: stringFlag("", "Provides the gossip encryption key."),
  "data-dir": stringFlag("", "Path to a data directory to store agent state."),
  nats: listFlag("NATS server URL(s) holding the cluster's log (servers only). Comma-separated or repeated."),
  "config-file": listFlag("Path to a JSON or HCL file to read configuration from. May be given more than once."),
  "config-dir": listFlag("Path to a directory of *.json and *.hcl config files. May be given more than once."),
  "pid-file": stringFlag("", "Path to file to store agent PID."),
  "log-level": stringFlag("", "Log level of the agent."),
  "enable-script-checks": boolFlag(false, "Enables health check scripts."),
  ui: boolFlag(false, "Enables the built-in static web UI server."),
  "ui-dir": stringFlag("", "Path to directory containing the web UI resources."),
  "ui-content-path": stringFlag("", "Sets the external UI path to a string. Defaults to: /ui/"),
  "enable-local-script-checks": boolFlag(false, "Enables health check scripts from local config files."),
} as const;

const HELP = `Usage: consulate agent [options]

  Starts the Consulate agent and runs until an interrupt is received.`;

async function buildConfig(argv: string[]): Promise<AgentConfig> {
  const { values: f, set } = parseFlags(spec, argv);
  const cfg = f.dev ? devConfig() : defaultConfig();
  for (const file of f["config-file"]) await loadConfigFile(cfg, file);
  for (const dir of f["config-dir"]) await loadConfigDir(cfg, dir);
  if (set.has("server")) cfg.server = f.server;
  if (set.has("bootstrap")) cfg.bootstrap = f.bootstrap;
  if (set.has("bootstrap-expect")) cfg.bootstrapExpect = f["bootstrap-expect"];
  if (f.node) cfg.nodeName = f.node;
  if (f["node-id"]) cfg.nodeId = f["node-id"];
  if (f.datacenter) cfg.datacenter = f.datacenter;
  if (f["primary-datacenter"]) cfg.primaryDatacenter = f["primary-datacenter"];
  if (f.bind) cfg.bindAddr = f.bind;
  if (f.client) cfg.clientAddr = f.client;
  if (f.advertise) cfg.advertiseAddr = f.advertise;
  if (f["http-port"] !== -2) cfg.ports.http = f["http-port"];
  if (f["https-port"] !== -2) cfg.ports.https = f["https-port"];
  if (f["dns-port"] !== -2) cfg.ports.dns = f["dns-port"];
  if (f.domain) cfg.domain = f.domain;
  if (f["alt-domain"]) cfg.altDomain = f["alt-domain"];
  if (f.recursor.length > 0) cfg.recursors = [...cfg.recursors, ...f.recursor];
  if (f["server-port"] !== -2) cfg.ports.server = f["server-port"];
  if (f["serf-lan-port"] !== -2) cfg.ports.serfLan = f["serf-lan-port"];
  if (f["serf-wan-port"] !== -2) cfg.ports.serfWan = f["serf-wan-port"];
  if (f.join.length > 0) cfg.gossip.startJoin = [...cfg.gossip.startJoin, ...f.join];
  if (f["retry-join"].length > 0) cfg.gossip.retryJoin = [...cfg.gossip.retryJoin, ...f["retry-join"]];
  if (f["join-wan"].length > 0) cfg.gossip.startJoinWan = [...cfg.gossip.startJoinWan, ...f["join-wan"]];
  if (f["retry-join-wan"].length > 0) cfg.gossip.retryJoinWan = [...cfg.gossip.retryJoinWan, ...f["retry-join-wan"]];
  if (f["advertise-wan"]) cfg.advertiseWanAddr = f["advertise-wan"];
  if (f["federation-nats"].length > 0) {
    try {
      cfg.federation = { ...cfg.federation, natsUrls: federationNatsFlag(f["federation-nats"]) };
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  if (f["retry-interval"]) {
    const ms = parseGoDuration(f["retry-interval"]);
    if (ms === null || ms <= 0) throw new ConfigError(`Invalid -retry-interval: ${f["retry-interval"]}`);
    cfg.gossip.retryIntervalMs = ms;
  }
  if (f["retry-max"] >= 0) cfg.gossip.retryMax = f["retry-max"];
  if (set.has("rejoin")) cfg.gossip.rejoinAfterLeave = f.rejoin;
  if (f.encrypt) cfg.gossip.encrypt = f.encrypt;
  if (f["data-dir"]) cfg.dataDir = f["data-dir"];
  if (f.nats.length > 0) cfg.nats = { ...cfg.nats, urls: splitUrls(f.nats) };
  if (f["pid-file"]) cfg.pidFile = f["pid-file"];
  if (f["log-level"]) {
    const l = f["log-level"].toLowerCase();
    if (!isLogLevel(l)) throw new ConfigError(`Invalid log level: ${f["log-level"]}`);
    cfg.logLevel = l;
  }
  if (set.has("enable-script-checks")) cfg.enableScriptChecks = f["enable-script-checks"];
  if (set.has("enable-local-script-checks")) cfg.enableLocalScriptChecks = f["enable-local-script-checks"];
  if (set.has("ui")) cfg.ui = { ...cfg.ui, enabled: f.ui };
  if (f["ui-dir"]) cfg.ui = { ...cfg.ui, dir: f["ui-dir"] };
  if (f["ui-content-path"]) cfg.ui = { ...cfg.ui, contentPath: normalizeContentPath(f["ui-content-path"], "-ui-content-path") };
  if (cfg.bootstrap) cfg.bootstrapExpect = Math.max(cfg.bootstrapExpect, 0);
  validateConfig(cfg);
  return cfg;
}

export async function agentCommand(argv: string[]): Promise<number> {
  let cfg: AgentConfig;
  try {
    cfg = await buildConfig(argv);
  } catch (err) {
    if (err instanceof HelpRequested) {
      writeStderr(usage(HELP, spec) + "\n");
      return 0;
    }
    if (err instanceof FlagError) {
      writeStderr(`==> ${err.message}\n    Run "consulate agent -h" for the list of flags.\n`);
      return 1;
    }
    if (err instanceof ConfigError) {
      writeStderr(`==> ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const logger = createLogger(cfg.logLevel, "agent", writeStderr, new LogBroker());
  writeStdout(`==> Starting Consulate agent...\n`);
  boundAgentHeapGrowth();
  let requestLeave: () => void = () => {};
  const leaveRequested = new Promise<"leave">((resolve) => (requestLeave = () => resolve("leave")));
  let agent;
  try {
    agent = await startAgent(cfg, logger, { onLeave: () => requestLeave(), reloadConfig: () => buildConfig(argv) });
  } catch (err) {
    const message = (err as Error).message;
    const hint = portInUseHint(message, cfg.ports);
    writeStderr(`==> Error starting agent: ${message}\n${hint ? `    ${hint}\n` : ""}`);
    return 1;
  }
  writeStdout(
    [
      `               Version: 'v${VERSION}'`,
      `               Node ID: '${agent.nodeId}'`,
      `             Node name: '${cfg.nodeName}'`,
      `            Datacenter: '${cfg.datacenter}' (Segment: '<all>')`,
      `                Server: ${cfg.server} (Bootstrap: ${cfg.bootstrap || cfg.dev})`,
      `           Client Addr: [${cfg.clientAddr}] (HTTP: ${cfg.ports.http < 0 ? -1 : agent.http.port}, HTTPS: ${agent.https?.port ?? -1}, DNS: ${agent.dns?.port ?? -1})`,
      `          Cluster Addr: ${agent.advertiseAddr} (LAN: ${cfg.ports.serfLan}, WAN: ${cfg.ports.serfWan})`,
      `     Gossip Encryption: ${agent.membership.encrypted}`,
      `               Storage: ${cfg.dev ? "in memory (-dev)" : cfg.nats.urls.length > 0 ? `JetStream (NATS ${cfg.nats.urls.join(", ")})` : `${cfg.dataDir}/log`}`,
      "",
      "==> Consulate agent running!",
      "",
    ].join("\n"),
  );
  const running = agent;
  // SIGHUP reloads the config files, as `consul reload` and /v1/agent/reload do.
  const offHup = onSignal("SIGHUP", () => {
    writeStdout("==> Caught signal: hangup\n==> Reloading configuration...\n");
    buildConfig(argv)
      .then((next) => running.reload(next))
      .catch((err: unknown) => writeStderr(`==> Failed to reload configs: ${(err as Error).message}\n`));
  });
  const reason = await Promise.race([
    leaveRequested,
    new Promise<"SIGINT" | "SIGTERM">((resolve) => {
      onSignal("SIGINT", () => resolve("SIGINT"));
      onSignal("SIGTERM", () => resolve("SIGTERM"));
    }),
  ]);
  offHup();
  // Consul's defaults: a client leaves on SIGINT and SIGTERM, a server on neither (skip_leave_on_interrupt, leave_on_terminate).
  const leave =
    reason === "leave" ||
    (reason === "SIGINT" && !(cfg.gossip.skipLeaveOnInterrupt ?? cfg.server)) ||
    (reason === "SIGTERM" && (cfg.gossip.leaveOnTerminate ?? !cfg.server));
  writeStdout(reason === "leave" ? "==> Leave requested, gracefully shutting down agent...\n" : "==> Caught signal, gracefully shutting down agent...\n");
  if (leave) writeStdout("==> Gracefully leaving the cluster...\n");
  await agent.stop({ leave });
  writeStdout("==> Graceful shutdown complete\n");
  return 0;
}
