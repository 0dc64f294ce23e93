/**
 * Remote exec on the agent side (Consul's agent/remote_exec.go): a `_rexec`
 * user event names a session; the job spec waits in KV under
 * `<prefix>/<session>/job`; the agent acks, streams output chunks and writes
 * its exit code under `<prefix>/<session>/<node>/...`, each write held by
 * the session. Off unless `disable_remote_exec = false`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { concat } from "../connect/der.ts";
import { defaultOptions, type Rpc } from "../rpc/mod.ts";
import { decodeBase64, encodeBase64 } from "../structs/json.ts";
import { KvVerb } from "../structs/kv.ts";
import type { Logger } from "./logger.ts";
import type { UserEvent } from "./user_event.ts";

/** The user event name `consul exec` fires. */
export const REMOTE_EXEC_EVENT = "_rexec";
/** Output is uploaded in chunks of this size, or after this long idle. */
const OUTPUT_CHUNK = 4 * 1024;
const OUTPUT_IDLE_MS = 500;

/** The event payload (JSON). */
export interface RemoteExecEvent {
  readonly Prefix: string;
  readonly Session: string;
}

/** The job spec in KV (JSON; Wait in nanoseconds, Script base64, as Go encodes them). */
export interface RemoteExecSpec {
  readonly Command: string;
  readonly Args: readonly string[] | null;
  readonly Script: string | null;
  readonly Wait: number;
}

export interface RemoteExecOptions {
  readonly nodeName: string;
  readonly datacenter: string;
  readonly disabled: boolean;
  readonly rpc: Rpc;
  readonly logger: Logger;
  readonly shell?: string;
}

const td = new TextDecoder();
const te = new TextEncoder();

export class RemoteExec {
  private readonly o: RemoteExecOptions;
  private readonly running = new Set<ChildProcess>();
  private stopped = false;

  constructor(o: RemoteExecOptions) {
    this.o = o;
  }

  /** Called for a `_rexec` event that passed the filters. */
  handle(event: UserEvent): void {
    if (this.o.disabled) {
      this.o.logger.info(`agent: ignoring remote exec event, disabled. event_name=${event.Name} event_id=${event.ID}`);
      return;
    }
    this.run(event).catch((err: unknown) => this.o.logger.error(`agent: remote exec failed: ${(err as Error).message}`));
  }

  /** Kills the jobs still running. */
  stop(): void {
    this.stopped = true;
    for (const c of this.running) c.kill("SIGKILL");
    this.running.clear();
  }

  private async run(msg: UserEvent): Promise<void> {
    this.o.logger.debug(`agent: received remote exec event ${msg.ID}`);
    let ev: RemoteExecEvent;
    try {
      const parsed = JSON.parse(td.decode(msg.Payload ?? new Uint8Array())) as Partial<RemoteExecEvent>;
      if (typeof parsed.Prefix !== "string" || typeof parsed.Session !== "string") throw new Error("missing Prefix or Session");
      ev = { Prefix: parsed.Prefix, Session: parsed.Session };
    } catch (err) {
      this.o.logger.error(`agent: failed to decode remote exec event: ${(err as Error).message}`);
      return;
    }
    const spec = await this.getSpec(ev);
    if (!spec) return;
    if (!(await this.writeKey(ev, "ack", null))) {
      this.o.logger.error("agent: failed to ack remote exec job");
      return;
    }
    const code = await this.execute(ev, spec);
    if (!(await this.writeKey(ev, "exit", te.encode(String(code))))) this.o.logger.error("agent: failed to write exit code for remote exec job");
  }

  private async getSpec(ev: RemoteExecEvent): Promise<RemoteExecSpec | null> {
    const key = joinKey(ev.Prefix, ev.Session, "job");
    const reply = await this.o.rpc.call("KVS.Get", { Key: key }, defaultOptions(this.o.datacenter));
    const row = reply.value;
    if (!row || row.Value === null) {
      this.o.logger.debug("agent: remote exec aborted, job spec missing");
      return null;
    }
    try {
      const s = JSON.parse(td.decode(row.Value)) as Partial<RemoteExecSpec>;
      return {
        Command: typeof s.Command === "string" ? s.Command : "",
        Args: Array.isArray(s.Args) ? s.Args.filter((a): a is string => typeof a === "string") : null,
        Script: typeof s.Script === "string" ? s.Script : null,
        Wait: typeof s.Wait === "number" && s.Wait > 0 ? s.Wait : 2e9,
      };
    } catch (err) {
      this.o.logger.error(`agent: failed to decode remote exec spec: ${(err as Error).message}`);
      return null;
    }
  }

  /** Runs the job, uploading output as it comes; resolves to the exit code (255 when it could not run). */
  private execute(ev: RemoteExecEvent, spec: RemoteExecSpec): Promise<number> {
    if (this.stopped) return Promise.resolve(255);
    const shell = this.o.shell ?? "/bin/sh";
    let file: string;
    let argv: string[];
    if (spec.Args && spec.Args.length > 0) [file, argv] = [spec.Args[0]!, spec.Args.slice(1)];
    else if (spec.Script) [file, argv] = [shell, ["-c", td.decode(decodeBase64(spec.Script) ?? new Uint8Array())]];
    else [file, argv] = [shell, ["-c", spec.Command]];
    this.o.logger.info(`agent: remote exec '${spec.Args && spec.Args.length > 0 ? spec.Args.join(" ") : spec.Command}'`);
    return new Promise<number>((resolve) => {
      let child: ChildProcess;
      try {
        child = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"] });
      } catch {
        return resolve(255);
      }
      this.running.add(child);
      let num = 0;
      let buf: Uint8Array[] = [];
      let size = 0;
      let uploads = Promise.resolve(true);
      const flush = (force: boolean) => {
        if (size === 0 && !force) return;
        const chunk = concat(...buf);
        buf = [];
        size = 0;
        const n = num++;
        uploads = uploads.then((ok) => (ok ? this.writeKey(ev, `out/${n.toString(16).padStart(5, "0")}`, chunk.length > 0 ? chunk : null) : false));
      };
      let idle: ReturnType<typeof setTimeout> | null = null;
      const onData = (c: Uint8Array) => {
        buf.push(c);
        size += c.length;
        if (idle) clearTimeout(idle);
        if (size >= OUTPUT_CHUNK) flush(false);
        idle = setTimeout(() => flush(false), OUTPUT_IDLE_MS);
      };
      // With no output for the spec's wait, an empty chunk acts as a heartbeat.
      const heart = setInterval(() => flush(true), Math.max(100, Math.floor(spec.Wait / 1e6)));
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      let started = true;
      child.once("error", () => {
        started = false;
      });
      child.once("close", (code) => {
        this.running.delete(child);
        if (idle) clearTimeout(idle);
        clearInterval(heart);
        flush(false);
        void uploads.then((ok) => resolve(!started || !ok ? 255 : (code ?? 1)));
      });
    });
  }

  private async writeKey(ev: RemoteExecEvent, suffix: string, value: Uint8Array | null): Promise<boolean> {
    const key = joinKey(ev.Prefix, ev.Session, this.o.nodeName, suffix);
    try {
      return await this.o.rpc.call(
        "KVS.Apply",
        { Op: KvVerb.Lock, Entry: { Key: key, Value: value && value.length > 0 ? encodeBase64(value) : null, Flags: "0", Session: ev.Session, ModifyIndex: 0 } },
        defaultOptions(this.o.datacenter),
      );
    } catch (err) {
      this.o.logger.error(`agent: failed to write remote exec key ${key}: ${(err as Error).message}`);
      return false;
    }
  }
}

/** Go's path.Join for KV keys: empty parts dropped, single slashes. */
function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/").replace(/\/+/g, "/").replace(/^\/|\/$/g, "");
}
