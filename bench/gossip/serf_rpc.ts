/**
 * A minimal client of serf's agent RPC (msgpack over TCP; the bench polls
 * member status and streams user events through it, since serf coalesces
 * member events for handler scripts).
 */
import net from "node:net";
import { type Mp, NeedMore, decode, encode } from "./msgpack.ts";

type Pending = { resolve: (body: Mp) => void; reject: (e: Error) => void; hasBody: boolean; header?: boolean };

export class SerfRpc {
  private readonly sock: net.Socket;
  private buf = new Uint8Array(0);
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<number, (record: Mp) => void>();
  /** Seq whose header arrived and whose body is next. */
  private awaitingBody: number | null = null;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on("data", (chunk: Uint8Array) => this.onData(chunk));
    sock.on("error", () => {});
  }

  static async connect(port: number): Promise<SerfRpc> {
    const sock = net.connect(port, "127.0.0.1");
    await new Promise<void>((res, rej) => {
      sock.once("connect", () => res());
      sock.once("error", rej);
    });
    const c = new SerfRpc(sock);
    await c.call("handshake", { Version: 1 }, false);
    return c;
  }

  private onData(chunk: Uint8Array): void {
    const next = new Uint8Array(this.buf.length + chunk.length);
    next.set(this.buf);
    next.set(chunk, this.buf.length);
    this.buf = next;
    let pos = 0;
    for (;;) {
      let v: Mp;
      let end: number;
      try {
        [v, end] = decode(this.buf, pos);
      } catch (e) {
        if (e instanceof NeedMore) break;
        throw e;
      }
      pos = end;
      if (this.awaitingBody !== null) {
        const seq = this.awaitingBody;
        this.awaitingBody = null;
        const s = this.streams.get(seq);
        const p = this.pending.get(seq);
        if (p) {
          this.pending.delete(seq);
          p.resolve(v);
        } else if (s) s(v);
        continue;
      }
      const h = v as { Seq: number; Error: string };
      const p = this.pending.get(h.Seq);
      if (h.Error) {
        if (p) {
          this.pending.delete(h.Seq);
          p.reject(new Error(h.Error));
        }
        continue;
      }
      if (p && !p.hasBody) {
        this.pending.delete(h.Seq);
        p.resolve(null);
        if (this.streams.has(h.Seq)) continue;
      } else if (p || this.streams.has(h.Seq)) this.awaitingBody = h.Seq;
    }
    this.buf = this.buf.slice(pos);
  }

  call(command: string, body: Mp | undefined, hasBody: boolean): Promise<Mp> {
    const seq = this.seq++;
    return new Promise<Mp>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, hasBody });
      this.sock.write(encode({ Command: command, Seq: seq }));
      if (body !== undefined) this.sock.write(encode(body));
    });
  }

  /** Subscribes to events of a type ("user", "member-failed", ...). */
  async stream(type: string, onRecord: (record: Mp) => void): Promise<void> {
    const seq = this.seq;
    this.streams.set(seq, onRecord);
    await this.call("stream", { Type: type }, false);
  }

  async failedMembers(nameRe = ".*"): Promise<string[]> {
    const r = (await this.call("members-filtered", { Tags: {}, Status: "failed", Name: nameRe }, true)) as { Members: { Name: string }[] };
    return r.Members.map((m) => m.Name);
  }

  async aliveCount(): Promise<number> {
    const r = (await this.call("members-filtered", { Tags: {}, Status: "alive", Name: ".*" }, true)) as { Members: unknown[] };
    return r.Members.length;
  }

  async event(name: string): Promise<void> {
    await this.call("event", { Name: name, Payload: new Uint8Array(0), Coalesce: false }, false);
  }

  close(): void {
    this.sock.destroy();
  }
}
