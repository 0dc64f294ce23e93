/** A minimal DNS client for the scale bench: one question over UDP or TCP, timed. */
import { createSocket } from "node:dgram";
import * as net from "node:net";
import * as packet from "dns-packet";

export interface DnsTiming {
  readonly ms: number;
  readonly answers: number;
  readonly rcode: string;
  readonly truncated: boolean;
}

let nextId = 1;

function query(name: string, type: "A" | "SRV"): Buffer {
  nextId = (nextId + 1) & 0xffff;
  return packet.encode({ type: "query", id: nextId, flags: packet.RECURSION_DESIRED, questions: [{ type, name }] });
}

function timing(t0: number, msg: Buffer): DnsTiming {
  const ms = performance.now() - t0;
  const d = packet.decode(msg);
  return { ms, answers: d.answers?.length ?? 0, rcode: (d as { rcode?: string }).rcode ?? "?", truncated: ((d.flags ?? 0) & packet.TRUNCATED_RESPONSE) !== 0 };
}

export function udpQuery(port: number, name: string, type: "A" | "SRV", timeoutMs = 5000): Promise<DnsTiming> {
  return new Promise((resolve, reject) => {
    const sock = createSocket("udp4");
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`DNS ${type} ${name}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    const q = query(name, type);
    let t0 = 0;
    sock.once("message", (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(timing(t0, msg));
    });
    t0 = performance.now();
    sock.send(q, port, "127.0.0.1");
  });
}

export function tcpQuery(port: number, name: string, type: "A" | "SRV", timeoutMs = 10_000): Promise<DnsTiming> {
  return new Promise((resolve, reject) => {
    const q = query(name, type);
    const framed = Buffer.alloc(q.length + 2);
    framed.writeUInt16BE(q.length, 0);
    q.copy(framed, 2);
    const sock = net.connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`DNS/TCP ${type} ${name}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    let t0 = 0;
    let buf = Buffer.alloc(0);
    sock.on("connect", () => {
      t0 = performance.now();
      sock.write(framed);
    });
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      clearTimeout(timer);
      sock.destroy();
      resolve(timing(t0, buf.subarray(2, 2 + buf.readUInt16BE(0))));
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
