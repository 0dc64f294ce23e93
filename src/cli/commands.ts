/** The top-level command table and usage text. */
import type { Command } from "./command.ts";
import type { CliIo } from "./io.ts";
import { versionCommand } from "./version.ts";
import { columnize } from "./format/columnize.ts";

/**
 * A command whose code is loaded only when it runs, so `consulate version` or
 * `consulate kv get` never parse the agent, the mesh or the NATS client
 * (each is a chunk of its own in the Node bundle).
 */
export interface LazyCommand extends Command {
  load(): Promise<Command>;
}

function lazy(name: string, synopsis: string, load: () => Promise<Command>): LazyCommand {
  return {
    synopsis,
    load,
    help: () => `Run "consulate ${name} -h" for this command's help.\n`,
    async run(args: string[], io: CliIo): Promise<number> {
      return (await load()).run(args, io);
    },
  };
}

export const commands: Readonly<Record<string, Command | LazyCommand>> = {
  agent: lazy("agent", "Runs a Consulate agent", async () => {
    const { agentCommand } = await import("./agent.ts");
    return { synopsis: "Runs a Consulate agent", help: () => "Usage: consulate agent [options]\n", run: (args) => agentCommand(args) };
  }),
  acl: lazy("acl", "Interact with Consul's ACLs", async () => (await import("./acl/mod.ts")).aclCommand),
  "api-gateway": lazy("api-gateway", "Interact with API gateways", async () => (await import("./api_gateway.ts")).apiGatewayCommand),
  catalog: lazy("catalog", "Interact with the catalog", async () => (await import("./catalog/mod.ts")).catalogCommand),
  config: lazy("config", "Interact with Consul's Centralized Configurations", async () => (await import("./config/mod.ts")).configCommand),
  connect: lazy("connect", "Interact with Consul Connect", async () => (await import("./connect/mod.ts")).connectCommand),
  debug: lazy("debug", "Records a debugging archive for operators", async () => (await import("./debug/mod.ts")).debugCommand),
  event: lazy("event", "Fire a new event", async () => (await import("./event.ts")).eventCommand),
  exec: lazy("exec", "Executes a command on Consul nodes", async () => (await import("./exec.ts")).execCommand),
  "force-leave": lazy("force-leave", 'Forces a member of the cluster to enter the "left" state', async () => (await import("./force_leave.ts")).forceLeaveCommand),
  info: lazy("info", "Provides debugging information for operators.", async () => (await import("./info.ts")).infoCommand),
  intention: lazy("intention", "Interact with Connect service intentions", async () => (await import("./intention/mod.ts")).intentionCommand),
  join: lazy("join", "Tell Consul agent to join cluster", async () => (await import("./join.ts")).joinCommand),
  keygen: lazy("keygen", "Generates a new encryption key", async () => (await import("./keygen.ts")).keygenCommand),
  keyring: lazy("keyring", "Manages gossip layer encryption keys", async () => (await import("./keyring.ts")).keyringCommand),
  kv: lazy("kv", "Interact with the key-value store", async () => (await import("./kv/mod.ts")).kvCommand),
  leave: lazy("leave", "Gracefully leaves the Consul cluster and shuts down", async () => (await import("./leave.ts")).leaveCommand),
  login: lazy("login", "Login to Consul using an auth method", async () => (await import("./login.ts")).loginCommand),
  logout: lazy("logout", "Destroy a Consul token created with login", async () => (await import("./login.ts")).logoutCommand),
  lock: lazy("lock", "Execute a command holding a lock", async () => (await import("./lock.ts")).lockCommand),
  maint: lazy("maint", "Controls node or service maintenance mode", async () => (await import("./maint.ts")).maintCommand),
  members: lazy("members", "Lists the members of a Consul cluster", async () => (await import("./members.ts")).membersCommand),
  monitor: lazy("monitor", "Stream logs from a Consul agent", async () => (await import("./monitor.ts")).monitorCommand),
  operator: lazy("operator", "Provides cluster-level tools for Consul operators", async () => (await import("./operator/mod.ts")).operatorCommand),
  reload: lazy("reload", "Triggers the agent to reload configuration files", async () => (await import("./reload.ts")).reloadCommand),
  rtt: lazy("rtt", "Estimates network round trip time between nodes", async () => (await import("./rtt.ts")).rttCommand),
  services: lazy("services", "Interact with services", async () => (await import("./services/mod.ts")).servicesCommand),
  snapshot: lazy("snapshot", "Saves, restores and inspects snapshots of Consul server state", async () => (await import("./snapshot/mod.ts")).snapshotCommand),
  tls: lazy("tls", "Builtin helpers for creating CAs and certificates", async () => (await import("./tls/mod.ts")).tlsCommand),
  validate: lazy("validate", "Validate config files/directories", async () => (await import("./validate.ts")).validateCommand),
  version: versionCommand,
  watch: lazy("watch", "Watch for changes in Consul", async () => (await import("./watch/mod.ts")).watchCommand),
};

export function topUsage(): string {
  const rows = Object.keys(commands)
    .sort()
    .map((name) => `${name}\x1f${commands[name]?.synopsis ?? ""}`);
  return `Usage: consulate [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n${columnize(rows, "\x1f", "    ").replace(/^/gm, "    ")}\n`;
}
