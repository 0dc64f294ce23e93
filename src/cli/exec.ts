/**
 * `consulate exec` (Consul's command/exec): puts a job spec in KV under a
 * fresh session, fires the `_rexec` user event, then follows the agents'
 * ack/out/exit keys until nothing has moved for `-wait`, and cleans up.
 */
import { defineCommand, errorText } from "./command.ts";
import { boolFlag, durationFlag, stringFlag, usage } from "./flags.ts";
import { apiClient, clientFlags } from "./http_flags.ts";
import { filterError } from "./event.ts";
import type { Client } from "../api/client.ts";
import type { Ui } from "./io.ts";
import { encodeBase64 } from "../structs/json.ts";

const help = `
Usage: consulate exec [options] [-|command...]

  Evaluates a command on remote Consul nodes. The nodes responding can
  be filtered using regular expressions on node name, service, and tag
  definitions. If a command is '-', stdin will be read until EOF
  and used as a script input.
`;

const PREFIX = "_rexec";
const REPLICATION_WAIT_MS = 200;

const flags = {
  ...clientFlags,
  node: stringFlag("", "Regular expression to filter on node names."),
  service: stringFlag("", "Regular expression to filter on service instances."),
  tag: stringFlag("", "Regular expression to filter on service tags. Must be used with -service."),
  prefix: stringFlag(PREFIX, "Prefix in the KV store to use for request data."),
  shell: boolFlag(true, "Use a shell to run the command."),
  wait: durationFlag(2000, "Period to wait with no responses before terminating execution."),
  "wait-repl": durationFlag(REPLICATION_WAIT_MS, "Period to wait for replication before firing event. This is an optimization to allow stale reads to be performed."),
  verbose: boolFlag(false, "Enables verbose output."),
};

const te = new TextEncoder();
const td = new TextDecoder();

export const execCommand = defineCommand({
  synopsis: "Executes a command on Consul nodes",
  help,
  flags,
  async run({ values, args }, ui) {
    let cmd = args.join(" ");
    let script: Uint8Array | null = null;
    let argv: string[] | null = null;
    if (cmd === "-") {
      if (!values.shell) {
        ui.error("Cannot configure -shell=false when reading from stdin");
        return 1;
      }
      cmd = "";
      script = await ui.io.readStdin();
    } else if (!values.shell) {
      cmd = "";
      argv = args;
    }
    if (cmd === "" && (script === null || script.length === 0) && (argv === null || argv.length === 0)) {
      ui.error("Must specify a command to execute");
      ui.error("");
      ui.error(usage(help, flags));
      return 1;
    }
    const bad = filterError(values);
    if (bad !== null) {
      ui.error(bad);
      return 1;
    }
    let client: Client | undefined;
    try {
      client = await apiClient(values, ui.io);
      await client.agent().self();
    } catch (err) {
      ui.error(`${client ? "Error querying Consul agent" : "Error connecting to Consul agent"}: ${errorText(err)}`);
      return 1;
    }
    const spec = JSON.stringify({
      Command: cmd,
      Args: argv,
      Script: script && script.length > 0 ? encodeBase64(script) : null,
      Wait: values.wait * 1e6,
    });
    let session: string;
    try {
      session = await client.session().create({ Name: "Remote Exec", Behavior: "delete", TTL: "15s" });
    } catch (err) {
      ui.error(`Failed to create session: ${errorText(err)}`);
      return 1;
    }
    const dir = `${values.prefix}/${session}`;
    const renew = setInterval(() => void client.session().renew(session).catch(() => undefined), 5000);
    const cleanup = async () => {
      clearInterval(renew);
      await client.session().destroy(session).catch(() => undefined);
      await client.kv().deleteTree(dir).catch(() => undefined);
    };
    try {
      if (values.verbose) ui.info(`Created remote execution session: ${session}`);
      const ok = await client.kv().acquire({ Key: `${dir}/job`, Value: te.encode(spec), Session: session }).catch((err: unknown) => {
        ui.error(`Failed to create job file: ${errorText(err)}`);
        return null;
      });
      if (ok === null) return 1;
      if (!ok) {
        ui.error(`Failed to create job file: failed to acquire key ${dir}/job`);
        return 1;
      }
      if (values.verbose) ui.info("Uploaded remote execution spec");
      await new Promise((r) => setTimeout(r, values["wait-repl"]));
      let id: string;
      try {
        id = await client.event().fire({ Name: "_rexec", Payload: JSON.stringify({ Prefix: values.prefix, Session: session }), NodeFilter: values.node, ServiceFilter: values.service, TagFilter: values.tag });
      } catch (err) {
        ui.error(`Failed to fire event: ${errorText(err)}`);
        return 1;
      }
      if (values.verbose) ui.info(`Fired remote execution event: ${id}`);
      return await waitForJob(client, ui, `${dir}/`, values.wait, values.verbose);
    } finally {
      await cleanup();
    }
  },
});

/** Consul's TargetedUI: each line as `==> node: text` (info) or `    node: text` (output), trailing space trimmed. */
function targeted(arrow: boolean, node: string, message: string): string {
  const mark = arrow ? "==>" : "   ";
  return message
    .split("\n")
    .map((l) => `${mark} ${node}: ${l}`)
    .join("\n")
    .trimEnd();
}

const order = (k: string): number => (k.endsWith("/ack") ? 0 : k.endsWith("/exit") ? 2 : 1);

async function waitForJob(client: Client, ui: Ui, dir: string, waitMs: number, verbose: boolean): Promise<number> {
  const start = Date.now();
  const seen = new Set<string>();
  let acks = 0;
  let exits = 0;
  let bad = 0;
  let index = 0;
  let deadline = Date.now() + waitMs;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    let keys: string[];
    try {
      const [k, meta] = await client.kv().keys(dir, "", { index, wait: Math.max(1, remaining) });
      if (meta.lastIndex === index) continue;
      index = meta.lastIndex;
      keys = k;
    } catch (err) {
      ui.error(`Failed to read results: ${errorText(err)}`);
      return 1;
    }
    const fresh = keys.filter((k) => !seen.has(k)).sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1));
    for (const full of fresh) {
      seen.add(full);
      const key = full.slice(dir.length);
      if (key === "job") continue;
      if (key.endsWith("/ack")) {
        acks++;
        if (verbose) ui.info(targeted(true, key.slice(0, -4), "acknowledged"));
      } else if (key.endsWith("/exit")) {
        const value = await readKey(client, ui, full);
        if (value === null) continue;
        const code = Number.parseInt(value, 10);
        if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(code)) {
          ui.error(`Failed to parse exit code '${value}'`);
          continue;
        }
        exits++;
        ui.info(targeted(true, key.slice(0, -5), `finished with exit code ${code}`));
        if (code !== 0) bad++;
      } else if (key.lastIndexOf("/out/") !== -1) {
        const value = await readKey(client, ui, full);
        if (value === null) continue;
        const node = key.slice(0, key.lastIndexOf("/out/"));
        if (value === "") {
          if (verbose) ui.info(targeted(true, node, "heartbeat received"));
        } else ui.output(targeted(false, node, value));
      } else {
        ui.error(`Unknown key '${key}', ignoring.`);
        continue;
      }
    }
    if (fresh.length > 0) deadline = Date.now() + (acks > exits ? 2 * waitMs : waitMs);
  }
  ui.info(`${exits} / ${acks} node(s) completed / acknowledged`);
  if (verbose) ui.info(`Completed in ${((Date.now() - start) / 1000).toFixed(2)} seconds`);
  if (exits < acks) bad++;
  return bad > 0 ? 2 : 0;
}

async function readKey(client: Client, ui: Ui, key: string): Promise<string | null> {
  try {
    const [pair] = await client.kv().get(key);
    if (pair) return td.decode(pair.Value ?? new Uint8Array());
    ui.error(`Failed to read key '${key}': <nil>`);
  } catch (err) {
    ui.error(`Failed to read key '${key}': ${errorText(err)}`);
  }
  return null;
}
