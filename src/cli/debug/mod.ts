/**
 * `consulate debug`: records the agent's self, host, members, metrics and logs
 * for a while into a folder and packs it as `<output>.tar.gz` (Consul's command/debug).
 * pprof is accepted as a target but never captured: Consulate has no Go profiler,
 * just as Consul drops it when the agent does not allow profiling.
 */
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import type { Client } from "../../api/mod.ts";
import { formatGoDuration } from "../../structs/duration.ts";
import { defineCommand, errorText } from "../command.ts";
import { boolFlag, durationFlag, listFlag, stringFlag } from "../flags.ts";
import { clientFlags, connectAgent } from "../http_flags.ts";
import type { Ui } from "../io.ts";
import { tarGzip, type TarEntry } from "./tar.ts";

const INTERVAL_MS = 30_000;
const DURATION_MS = 5 * 60_000;
/** Added to the duration so the last interval still lands inside it. */
const GRACE_MS = 2_000;
const MIN_INTERVAL_MS = 5_000;
const MIN_DURATION_MS = 10_000;
const PROTOCOL_VERSION = 1;

const TARGETS = ["metrics", "logs", "pprof", "host", "agent", "members"] as const;
/** Old name of "members", still accepted. */
const DEPRECATED_TARGETS = ["cluster"] as const;

/** Go's "2006-01-02T15-04-05Z0700" in UTC: RFC 3339 with hyphens, so tar does not read a colon as a host. */
export function stamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
}

/** Go's `time.Time.String()` for a UTC instant. */
function goTime(d: Date): string {
  return `${d.toISOString().replace("T", " ").replace(/\.(\d+)Z$/, (_m, f: string) => `.${f.padEnd(9, "0")}`)} +0000 UTC`;
}

const help = `
Usage: consulate debug [options]

  Monitors a Consul agent for the specified period of time, recording
  information about the agent, cluster, and environment to an archive
  written to the specified path.

  If ACLs are enabled, an 'operator:read' token must be supplied in order
  to perform this operation.

  To create a debug archive in the current directory for the default
  duration and interval, capturing all information available:

      $ consulate debug

  Flags can be used to customize the duration and interval of the
  operation. Duration is the total time to capture data for from the target
  agent and interval controls how often dynamic data such as metrics
  are scraped.

      $ consulate debug -interval=20s -duration=1m

  The capture flag can be specified multiple times to limit information
  retrieved.

      $ consulate debug -capture metrics -capture agent

  By default the archive is saved to the current directory as a .tar.gz
  file; -archive=false leaves the directory instead.

  Note: the archive may hold sensitive material; review it before sharing.
`;

/** Files captured so far, by path relative to the output folder. */
class Capture {
  readonly files = new Map<string, Uint8Array>();
  readonly dirs = new Set<string>();
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  async write(rel: string, data: Uint8Array): Promise<void> {
    const slash = rel.lastIndexOf("/");
    if (slash > 0) {
      const dir = rel.slice(0, slash);
      if (!this.dirs.has(dir)) {
        await mkdir(`${this.root}/${dir}`, { recursive: true });
        this.dirs.add(dir);
      }
    }
    await writeFile(`${this.root}/${rel}`, data);
    this.files.set(rel, data);
  }

  json(rel: string, value: unknown): Promise<void> {
    return this.write(rel, new TextEncoder().encode(JSON.stringify(value, null, "\t")));
  }

  entries(): TarEntry[] {
    const base = this.root.replace(/\/+$/, "").split("/").pop() ?? "consul-debug";
    const mtime = Date.now() / 1000;
    const out: TarEntry[] = [{ name: `${base}/`, mtime }];
    for (const dir of [...this.dirs].sort()) out.push({ name: `${base}/${dir}/`, mtime });
    for (const rel of [...this.files.keys()].sort()) out.push({ name: `${base}/${rel}`, data: this.files.get(rel), mtime });
    return out;
  }
}

export const debugCommand = defineCommand({
  synopsis: "Records a debugging archive for operators",
  help,
  flags: {
    ...clientFlags,
    capture: listFlag(`One or more types of information to capture. This can be used to capture a subset of information, and defaults to capturing everything available. Possible information for capture: ${TARGETS.join(", ")}. This can be repeated multiple times.`),
    interval: durationFlag(INTERVAL_MS, `The interval in which to capture dynamic information such as telemetry, and profiling. Defaults to ${formatGoDuration(INTERVAL_MS)}.`),
    duration: durationFlag(DURATION_MS, `The total time to record information. Defaults to ${formatGoDuration(DURATION_MS)}.`),
    archive: boolFlag(true, "Boolean value for if the files should be archived and compressed. Setting this to false will skip the archive step and leave the directory of information on the current path."),
    output: stringFlag(`consul-debug-${stamp(new Date())}`, "The path to the compressed archive that will be created with the information after collection."),
  },
  async run({ values, args }, ui) {
    if (args.length > 0) {
      ui.error("==> debug: Too many arguments provided, expected 0");
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    const output = values.output;
    const prepared = await prepare(client, values.interval, values.duration, values.capture, output, ui);
    if (typeof prepared === "string") {
      ui.error(`==> Capture validation failed: ${prepared}`);
      return 1;
    }
    const { version, capture } = prepared;
    const archiveName = values.archive ? `${output}.tar.gz` : output;
    ui.output("==> Starting debugger and capturing static information...");
    ui.info(`     Agent Version: '${version}'`);
    ui.info(`          Interval: '${formatGoDuration(values.interval)}'`);
    ui.info(`          Duration: '${formatGoDuration(values.duration)}'`);
    ui.info(`            Output: '${archiveName}'`);
    ui.info(`           Capture: '${capture.join(", ")}'`);
    const durationMs = values.duration + GRACE_MS;
    const wants = (t: string): boolean => capture.includes(t) || (t === "members" && capture.includes("cluster"));
    const files = new Capture(output);

    const staticErrors = await captureStatic(client, files, wants);
    if (staticErrors.length > 0) ui.io.stderr(`Static capture failed: ${staticErrors.join("; ")}\n`);

    if (wants("metrics") || wants("logs")) {
      const quit = new AbortController();
      let interrupted = false;
      const offs = [ui.io.onSignal("SIGINT", () => ((interrupted = true), quit.abort())), ui.io.onSignal("SIGTERM", () => ((interrupted = true), quit.abort()))];
      const timer = setTimeout(() => quit.abort(), durationMs);
      try {
        const jobs: Promise<void>[] = [captureInterval(client, files, values.interval, wants("metrics"), quit.signal, ui)];
        if (wants("logs")) jobs.push(captureLogs(client, files, quit.signal));
        const results = await Promise.allSettled(jobs);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (interrupted) ui.error("==> Error encountered during collection: stopping collection due to shutdown signal");
        else if (failed) ui.error(`==> Error encountered during collection: ${errorText(failed.reason)}`);
      } finally {
        clearTimeout(timer);
        for (const off of offs) off();
      }
    }

    try {
      await files.json("index.json", { Version: PROTOCOL_VERSION, AgentVersion: version, Interval: formatGoDuration(values.interval), Duration: formatGoDuration(durationMs), Targets: capture });
    } catch (err) {
      ui.error(`==> Error creating index document: ${errorText(err)}`);
      return 1;
    }

    if (values.archive) {
      const tmp = `${archiveName}.tmp${Date.now()}`;
      try {
        await writeFile(tmp, tarGzip(files.entries()));
        await rename(tmp, archiveName);
        await rm(output, { recursive: true, force: true });
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => {});
        ui.io.stderr(`Archive creation failed: ${errorText(err)}\n`);
        return 1;
      }
    }
    ui.info(`    Saved debug archive: ${archiveName}`);
    return 0;
  },
});

/** Checks the timings and targets, reads the agent's version and creates the output folder; a string is the error. */
async function prepare(client: Client, interval: number, duration: number, requested: readonly string[], output: string, ui: Ui): Promise<{ version: string; capture: string[] } | string> {
  if (duration < MIN_DURATION_MS) return `duration must be longer than ${formatGoDuration(MIN_DURATION_MS)}`;
  if (interval < MIN_INTERVAL_MS) return `interval must be longer than ${formatGoDuration(MIN_INTERVAL_MS)}`;
  if (duration < interval) return `duration (${formatGoDuration(duration)}) must be longer than interval (${formatGoDuration(interval)})`;
  let version: unknown;
  try {
    const self = (await client.agent().self()) as unknown as { Config?: { Version?: unknown } };
    version = self.Config?.Version;
  } catch (err) {
    return `error querying target agent: ${errorText(err)}. verify connectivity and agent address`;
  }
  if (typeof version !== "string") return "agent response did not contain version key";
  let capture = requested.length === 0 ? [...TARGETS] : [...requested];
  if (capture.includes("pprof")) {
    capture = capture.filter((t) => t !== "pprof");
    ui.io.stderr("[WARN] Unable to capture pprof. Consulate agents have no Go profiler; pprof is skipped.\n");
  }
  const known: readonly string[] = [...TARGETS, ...DEPRECATED_TARGETS];
  const unknown = capture.find((t) => !known.includes(t));
  if (unknown !== undefined) return `target not found: ${unknown}`;
  const exists = await stat(output).then(
    () => true,
    () => false,
  );
  if (exists) return `output directory already exists: ${output}`;
  try {
    await mkdir(output, { recursive: true });
  } catch (err) {
    return `could not create output directory: ${errorText(err)}`;
  }
  return { version, capture };
}

/** host.json, agent.json and members.json; each failure is reported and the rest still captured. */
async function captureStatic(client: Client, files: Capture, wants: (t: string) => boolean): Promise<string[]> {
  const errors: string[] = [];
  const take = async (name: string, get: () => Promise<unknown>): Promise<void> => {
    try {
      await files.json(`${name}.json`, await get());
    } catch (err) {
      errors.push(`${name}: ${errorText(err)}`);
    }
  };
  if (wants("host")) {
    await take("host", async () => {
      const res = await client.send({ method: "GET", path: "/v1/agent/host" });
      if (res.status !== 200) throw new Error(`this agent does not serve /v1/agent/host (${res.status}); host.json not written`);
      return JSON.parse(new TextDecoder().decode(res.body)) as unknown;
    });
  }
  if (wants("agent")) await take("agent", () => client.agent().self());
  if (wants("members")) await take("members", () => client.agent().members(true));
  return errors;
}

/** Metrics at once and then every interval, each into a folder named for its time, until the signal ends it. */
async function captureInterval(client: Client, files: Capture, interval: number, metrics: boolean, signal: AbortSignal, ui: Ui): Promise<void> {
  let count = 0;
  const once = async (): Promise<void> => {
    if (metrics) await files.json(`${stamp(new Date())}/metrics.json`, await client.agent().metrics());
    ui.output(`==> Capture successful ${goTime(new Date())} (${count})`);
  };
  ui.output(`==> Beginning capture interval ${goTime(new Date())} (0)`);
  await once();
  while (!signal.aborted) {
    const ticked = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(true), interval);
      signal.addEventListener("abort", () => (clearTimeout(t), resolve(false)), { once: true });
    });
    if (!ticked) return;
    count++;
    await once();
  }
}

/** consul.log: the agent's lines at TRACE level until the signal ends the stream. */
async function captureLogs(client: Client, files: Capture, signal: AbortSignal): Promise<void> {
  const lines: string[] = [];
  try {
    const stream = await client.agent().monitor({ logLevel: "TRACE", signal });
    for await (const line of stream) lines.push(line);
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  await files.write("consul.log", new TextEncoder().encode(lines.map((l) => `${l}\n`).join("")));
}
