/** `consulate watch`: run a handler (or print once) whenever a view of Consul changes. */
import { runHandler } from "./handler.ts";
import { parsePassingOnly, parseWatch, WatchParseError, type WatchParams } from "./funcs.ts";
import { runPlan } from "./plan.ts";
import { encodeJson } from "../../api/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { boolFlag, stringFlag, usage } from "../flags.ts";
import { connectAgent, clientFlags, serverFlags } from "../http_flags.ts";
import { listFlag } from "../services/register.ts";
import { formatGoDuration } from "../../structs/duration.ts";

const help = `
Usage: consulate watch [options] [child...]

  Watches for changes in a given data view from Consul. If a child process
  is specified, it will be invoked with the latest results on changes. Otherwise,
  the latest values are dumped to stdout and the watch terminates.

  Providing the watch type is required, and other parameters may be required
  or supported depending on the watch type.
`;

const flags = {
  ...clientFlags,
  ...serverFlags,
  type: stringFlag("", "Specifies the watch type. One of key, keyprefix, services, nodes, service, checks, or event."),
  key: stringFlag("", "Specifies the key to watch. Only for 'key' type."),
  prefix: stringFlag("", "Specifies the key prefix to watch. Only for 'keyprefix' type."),
  service: stringFlag("", "Specifies the service to watch. Required for 'service' type, optional for 'checks' type."),
  tag: listFlag("Specifies the service tag(s) to filter on. Optional for 'service' type. May be specified multiple times."),
  passingonly: stringFlag("", "Specifies if only hosts passing all checks are displayed. Optional for 'service' type, must be one of `[true|false]`. Defaults false."),
  shell: boolFlag(true, "Use a shell to run the command (can set a custom shell via the SHELL environment variable)."),
  state: stringFlag("", "Specifies the states to watch. Optional for 'checks' type."),
  name: stringFlag("", "Specifies an event name to watch. Only for 'event' type."),
};

/** hclog's text line, which Consul's watch logger writes to stderr. */
function logLine(level: string, msg: string, fields: Record<string, string>): string {
  const kv = Object.entries(fields)
    .map(([k, v]) => `${k}=${/[\s"=]/.test(v) ? JSON.stringify(v) : v}`)
    .join(" ");
  return `${new Date().toISOString()} [${level}] watch: ${msg}: ${kv}`;
}

export const watchCommand = defineCommand({
  synopsis: "Watch for changes in Consul",
  help,
  flags,
  async run({ values, args }, ui) {
    if (values.type === "") {
      ui.error("Watch type must be specified");
      ui.error("");
      ui.error(usage(help, flags));
      return 1;
    }
    const params: WatchParams = new Map();
    const token = values.token || ui.io.env("CONSUL_HTTP_TOKEN") || "";
    params.set("type", values.type);
    if (values.datacenter) params.set("datacenter", values.datacenter);
    if (token) params.set("token", token);
    if (values.key) params.set("key", values.key);
    if (values.prefix) params.set("prefix", values.prefix);
    if (values.service) params.set("service", values.service);
    if (values.tag.length > 0) params.set("tag", values.tag);
    if (values.stale) params.set("stale", true);
    if (values.state) params.set("state", values.state);
    if (values.name) params.set("name", values.name);
    let spec;
    try {
      if (values.passingonly) params.set("passingonly", parsePassingOnly(values.passingonly));
      spec = parseWatch(params);
    } catch (err) {
      if (err instanceof WatchParseError) {
        ui.error(err.message);
        return 1;
      }
      throw err;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      await client.agent().nodeName();
    } catch (err) {
      ui.error(`Error querying Consul agent: ${errorText(err)}`);
      return 1;
    }

    const stop = new AbortController();
    let exitCode = 0;
    const handler =
      args.length === 0
        ? (_index: bigint, data: unknown) => {
            ui.output(encodeJson(data, { indent: "    ", escapeHtml: true }));
            stop.abort();
          }
        : async (index: bigint, data: unknown) => {
            let outcome: string | null;
            try {
              outcome = await runHandler({
                args,
                shell: values.shell,
                env: { ...ui.io.allEnv(), CONSUL_INDEX: index.toString() },
                stdin: `${encodeJson(data, { escapeHtml: true })}\n`,
              });
            } catch (err) {
              ui.error(`Error starting handler: ${errorText(err)}`);
              outcome = "";
            }
            if (outcome !== null) {
              if (outcome !== "") ui.error(`Error executing handler: ${outcome}`);
              exitCode = 1;
              stop.abort();
            }
          };
    const offs = [ui.io.onSignal("SIGINT", () => stop.abort()), ui.io.onSignal("SIGTERM", () => stop.abort())];
    try {
      await runPlan({
        watch: (last, signal) => spec.watcher(client, last, signal),
        handler,
        signal: stop.signal,
        onError: (err, retryMs) => ui.error(logLine("ERROR", "Watch errored", { type: spec.type, error: errorText(err), retry: formatGoDuration(retryMs) })),
      });
    } finally {
      for (const off of offs) off();
    }
    return exitCode;
  },
});
