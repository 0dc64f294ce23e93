/**
 * spliceStreamTcp (gateways/mesh/tcp_splice.ts): a node stream spliced to a
 * TcpConn, the sidecar's L4 leg to its app where the runtime has its own
 * sockets. Both TcpConn implementations (native where the runtime has them,
 * and node:net) carry bytes both ways with back-pressure, pass a FIN on as a
 * FIN (the far side can still answer), and a side that resets is passed on
 * at once.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { spliceStreamTcp } from "../../gateways/mesh/tcp_splice.ts";
import { connectTcp } from "../../src/runtime/tcp.ts";

const HOST = "127.0.0.1";
const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

function listen(onConn: (s: Socket) => void): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    onConn(s);
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, HOST, () => resolve((server.address() as AddressInfo).port)));
}

/** A front whose accepted node:net sockets are spliced to a TcpConn dialled to `backend`. */
function front(backend: number, portable: boolean): Promise<number> {
  return listen((s) => {
    connectTcp({ host: HOST, port: backend, portable }).then(
      (conn) => spliceStreamTcp(s, conn),
      () => s.destroy(),
    );
  });
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: HOST, port, allowHalfOpen: true }, () => resolve(s));
    sockets.push(s);
    s.once("error", reject);
  });
}

/** Everything `s` reads until its peer's FIN, and whether that FIN came (rather than a reset). */
function readAll(s: Socket): Promise<{ bytes: Buffer; ended: boolean }> {
  const chunks: Buffer[] = [];
  let ended = false;
  s.on("data", (c: Buffer) => chunks.push(c));
  s.on("end", () => (ended = true));
  s.on("error", () => {});
  return new Promise((resolve) => s.once("close", () => resolve({ bytes: Buffer.concat(chunks), ended })));
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);

for (const portable of [false, true]) {
  describe(`spliceStreamTcp (${portable ? "node:net" : "the runtime's own"} TcpConn)`, () => {
    test("bytes both ways; the client's FIN reaches the app, which still answers after it", async () => {
      const backend = await listen((s) => {
        const got: Buffer[] = [];
        s.on("data", (c: Buffer) => {
          got.push(c);
          if (Buffer.concat(got).toString() === "hello") s.write("world");
        });
        // The client is done sending: answer once more, then close our side.
        s.on("end", () => s.end(`bye after ${Buffer.concat(got).length} bytes`));
      });
      const client = await dial(await front(backend, portable));
      const all = readAll(client);
      client.write("hello");
      await within(new Promise<void>((r) => client.once("data", () => r())), 5000, "first answer");
      client.end();
      const { bytes, ended } = await within(all, 5000, "the app's last words and FIN");
      expect(bytes.toString()).toBe("worldbye after 5 bytes");
      expect(ended).toBe(true);
    });

    test("a stream paused with its first bytes pushed back (a peek) flows once spliced", async () => {
      const backend = await listen((s) => s.on("data", (c: Buffer) => s.write(`echo:${c.toString()}`)));
      const port = await listen((s) => {
        s.once("data", (first: Buffer) => {
          s.pause();
          s.unshift(first);
          connectTcp({ host: HOST, port: backend, portable }).then((conn) => spliceStreamTcp(s, conn), () => s.destroy());
        });
      });
      const client = await dial(port);
      client.write("ping");
      const got = await within(new Promise<string>((r) => client.once("data", (c: Buffer) => r(c.toString()))), 5000, "the echo");
      expect(got).toBe("echo:ping");
    });

    test("8 MiB each way arrive whole with a slow reader (back-pressure)", async () => {
      const size = 8 * 1024 * 1024;
      const blob = Buffer.alloc(size);
      for (let i = 0; i < size; i++) blob[i] = (i * 2654435761) >>> 24;
      const digest = createHash("sha256").update(blob).digest("hex");
      const backendGot = createHash("sha256");
      let backendBytes = 0;
      let backendDone = () => {};
      const done = new Promise<void>((r) => (backendDone = r));
      const backendPort = await listen((s) => {
        s.write(blob);
        s.on("data", (c: Buffer) => {
          backendGot.update(c);
          backendBytes += c.length;
          // A slow app: a pause every MiB.
          if (backendBytes % (1024 * 1024) < c.length) {
            s.pause();
            setTimeout(() => s.resume(), 20);
          }
        });
        s.on("end", () => {
          s.end();
          backendDone();
        });
      });
      const client = await dial(await front(backendPort, portable));
      const all = readAll(client);
      client.end(blob);
      await within(done, 20_000, "the app reading 8 MiB");
      const { bytes, ended } = await within(all, 20_000, "the client reading 8 MiB");
      expect(backendBytes).toBe(size);
      expect(backendGot.digest("hex")).toBe(digest);
      expect(bytes.length).toBe(size);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(digest);
      expect(ended).toBe(true);
    }, 30_000);

    test("a side that resets is passed on at once (a FIN, well before the 5 s linger)", async () => {
      let appSide: Socket | null = null;
      const appClosed: Promise<void>[] = [];
      const backend = await listen((s) => {
        appSide = s;
        s.on("error", () => {});
        appClosed.push(
          new Promise((r) => {
            s.once("end", () => r());
            s.once("close", () => r());
          }),
        );
      });
      const port = await front(backend, portable);
      const c1 = await dial(port);
      c1.on("error", () => {});
      const ended = new Promise<void>((r) => {
        c1.once("end", () => r());
        c1.once("close", () => r());
      });
      while (!appSide) await new Promise((r) => setTimeout(r, 5));
      (appSide as Socket).resetAndDestroy();
      // Well before the 5 s a side that closed cleanly is given to flush.
      await within(ended, 2000, "the client told after the app's reset");

      appSide = null;
      const c2 = await dial(port);
      while (!appSide) await new Promise((r) => setTimeout(r, 5));
      c2.resetAndDestroy();
      await within(appClosed[1]!, 2000, "the app told after the client's reset");
    });
  });
}
