/**
 * The API gateway's listener TLS from the api-gateway entry, on the runtime
 * the tests run on (Bun: its native server): several certificates on one
 * listener picked by SNI (exact, wildcard, the first for clients naming no
 * host or an unknown one), MinVersion / MaxVersion and CipherSuites, and a
 * certificate change applied to new connections while an open one keeps
 * serving. Checked with openssl s_client and node:tls clients.
 */
import { afterAll, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { type GatewayListener, listenerTls, openListener } from "../../gateways/api/listener.ts";
import { tempDir } from "../e2e/_agent.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await Promise.race([c().catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
});

function makeCert(dir: string, name: string, sans: string[]): { certPem: string; keyPem: string } {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", `/CN=${name}`, "-addext", `subjectAltName=${sans.map((s) => `DNS:${s}`).join(",")}`, "-keyout", key, "-out", crt], { stdio: "ignore" });
  if (r.status !== 0) throw new Error("openssl req failed");
  return { certPem: readFileSync(crt, "utf8"), keyPem: readFileSync(key, "utf8") };
}

/** What openssl s_client negotiated: the server certificate's CN, the protocol and cipher, or the failure. */
function sClient(port: number, args: string[]): Promise<{ cn: string; protocol: string; cipher: string; ok: boolean }> {
  return new Promise((resolve) => {
    const p = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.stdin.end();
    const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
    p.on("close", () => {
      clearTimeout(timer);
      const cn = /subject=.*CN ?= ?([^\s,/]+)/.exec(out)?.[1] ?? "";
      const m = /New, (\S+), Cipher is (\S+)/.exec(out);
      const protocol = m?.[1] ?? "";
      const cipher = m?.[2] ?? "";
      resolve({ cn, protocol, cipher, ok: cn !== "" && cipher !== "" && cipher !== "(NONE)" });
    });
  });
}

async function listen(tls: ReturnType<typeof listenerTls>): Promise<GatewayListener> {
  const l = await openListener({ host: "127.0.0.1", port: 0, tls, fetch: async (req) => new Response(`hello ${new URL(req.url).pathname}`), onError: () => {} });
  cleanups.push(() => l.close(0));
  return l;
}

test("listener TLS: SNI over several certificates, version bounds, cipher suites, certificate change", async () => {
  const dir = await tempDir("apigw-listener-");
  cleanups.push(() => dir.remove());
  const a = makeCert(dir.path, "a-cert", ["a.example.test"]);
  const b = makeCert(dir.path, "b-cert", ["b.example.test", "*.b.example.test"]);
  const c = makeCert(dir.path, "c-cert", ["c.example.test"]);

  // SNI: each certificate answers its own DNS names; the first one answers the rest.
  const sni = await listen(listenerTls({}, [a, b]));
  expect((await sClient(sni.port, ["-servername", "a.example.test"])).cn).toBe("a-cert");
  expect((await sClient(sni.port, ["-servername", "b.example.test"])).cn).toBe("b-cert");
  expect((await sClient(sni.port, ["-servername", "x.b.example.test"])).cn).toBe("b-cert");
  expect((await sClient(sni.port, ["-servername", "unknown.example.test"])).cn).toBe("a-cert");
  expect((await sClient(sni.port, ["-noservername"])).cn).toBe("a-cert");
  // The default floor is TLS 1.2.
  expect((await sClient(sni.port, ["-servername", "a.example.test", "-tls1_1"])).ok).toBe(false);

  // MinVersion TLSv1_3: a TLS 1.2 client is refused, TLS 1.3 works.
  const min13 = await listen(listenerTls({ MinVersion: "TLSv1_3" }, [a]));
  expect((await sClient(min13.port, ["-tls1_2"])).ok).toBe(false);
  expect(await sClient(min13.port, ["-tls1_3"])).toMatchObject({ ok: true, protocol: "TLSv1.3" });

  // MaxVersion TLSv1_2 and one cipher suite: TLS 1.3 is refused, only the listed suite is agreed.
  const max12 = await listen(listenerTls({ MaxVersion: "TLSv1_2", CipherSuites: ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"] }, [a]));
  expect((await sClient(max12.port, ["-tls1_3"])).ok).toBe(false);
  expect(await sClient(max12.port, ["-tls1_2"])).toMatchObject({ ok: true, protocol: "TLSv1.2", cipher: "ECDHE-ECDSA-CHACHA20-POLY1305" });
  expect((await sClient(max12.port, ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"])).ok).toBe(false);

  // A certificate change: new connections get the new certificate; a request in flight on an open one finishes.
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const swap = await openListener({
    host: "127.0.0.1",
    port: 0,
    tls: listenerTls({}, [a]),
    fetch: async () => {
      await gate;
      return new Response("slow answer");
    },
    onError: () => {},
  });
  cleanups.push(() => swap.close(0));
  const socket: TLSSocket = await new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port: swap.port, servername: "a.example.test", rejectUnauthorized: false }, () => resolve(s));
    s.once("error", reject);
  });
  cleanups.push(async () => socket.destroy());
  let answer = "";
  const answered = new Promise<void>((resolve) => {
    socket.on("data", (d: Buffer) => {
      answer += d.toString();
      if (answer.includes("slow answer")) resolve();
    });
  });
  socket.write("GET /slow HTTP/1.1\r\nHost: a.example.test\r\n\r\n");
  const t0 = Date.now();
  while (swap.connections === 0 && Date.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 20));
  swap.setTls(listenerTls({}, [c]));
  expect((await sClient(swap.port, ["-servername", "c.example.test"])).cn).toBe("c-cert");
  release();
  await answered;
  expect(answer).toStartWith("HTTP/1.1 200");
}, 30_000);
