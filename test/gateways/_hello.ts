/** Real ClientHellos, captured from node:tls clients, for the SNI parser and gateway tests. */
import { createServer, type AddressInfo } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";

/** The first bytes a TLS client sends with these options (its whole first flight). */
export async function captureHello(opts: ConnectionOptions): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));
  const server = createServer((s) => {
    s.on("data", (c: Buffer) => {
      chunks.push(c);
      // A ClientHello's record header gives its length; stop once it is all here.
      const all = Buffer.concat(chunks);
      if (all.length >= 5 && all.length >= 5 + all.readUInt16BE(3)) {
        s.destroy();
        resolveDone();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  const c = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...opts });
  c.on("error", () => {});
  await done;
  c.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return new Uint8Array(Buffer.concat(chunks));
}

/** The same hello with its handshake message split over two TLS records at `at` bytes. */
export function splitIntoRecords(hello: Uint8Array, at: number): Uint8Array {
  const body = hello.subarray(5, 5 + ((hello[3]! << 8) | hello[4]!));
  const rec = (b: Uint8Array) => {
    const out = new Uint8Array(5 + b.length);
    out.set([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff]);
    out.set(b, 5);
    return out;
  };
  const a = rec(body.subarray(0, at));
  const b = rec(body.subarray(at));
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
