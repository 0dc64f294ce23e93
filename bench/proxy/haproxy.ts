/**
 * The same-run peer of bench/proxy: two HAProxy processes doing the two
 * sidecars' job for a tcp service, with the leaf certificates the sidecars
 * use (fetched from the same agent) and HAProxy's defaults otherwise:
 *
 *   wrk -> haproxy A (plain in; `server ... ssl crt <web leaf+key> ca-file <roots> verify required`)
 *       -> haproxy B (`bind ... ssl crt <db leaf+key> ca-file <roots> verify required`) -> app
 *
 * A sends no SNI: with `sni`, HAProxy also checks the server certificate's DNS
 * names against it, and Consul leaves carry only a SPIFFE URI SAN, so every
 * handshake would fail. Neither side checks the SPIFFE identity or any
 * intention (the sidecars do both on every connection), so this peer does a
 * little less work than ours. Both run one thread (`nbthread 1`), pinned to
 * CPU0 like the sidecars. HAProxy resumes TLS sessions between them by
 * default (the client side keeps the last session per server, the server side
 * a session cache).
 *
 * `mode: "http"` is the peer of an http service's path (the sidecars' L7
 * relay, which carries a new client connection over a pooled
 * sidecar-to-sidecar connection): both HAProxy processes in `mode http` with
 * `http-reuse always`, so a request that opens a client connection may also
 * go over an idle connection to the next hop, as the sidecars' pool does
 * (HAProxy's default, `safe`, sends the first request of every client
 * connection over a new one); its defaults otherwise.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Child, startPinned } from "../kv/procs.ts";

interface LeafWire {
  readonly CertPEM: string;
  readonly PrivateKeyPEM: string;
}

interface RootsWire {
  readonly Roots: readonly { readonly RootCert: string; readonly IntermediateCerts?: readonly string[] | null }[];
}

export interface HaproxyPair {
  readonly a: Child;
  readonly b: Child;
  /** Where clients connect (A's plain listener). */
  readonly port: number;
}

async function get<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const pem = (s: string) => (s.endsWith("\n") ? s : `${s}\n`);

export type HaproxyMode = "tcp" | "http";

const defaults = (mode: HaproxyMode) => ["defaults", `  mode ${mode}`, ...(mode === "http" ? ["  http-reuse always"] : []), "  timeout connect 5s", "  timeout client 30s", "  timeout server 30s"];

export async function startHaproxyPair(tmp: string, agentAddr: string, o: { appPort: number; aPort: number; bPort: number; client: string; server: string; mode: HaproxyMode }): Promise<HaproxyPair> {
  const [clientLeaf, serverLeaf, roots] = await Promise.all([
    get<LeafWire>(`http://${agentAddr}/v1/agent/connect/ca/leaf/${o.client}`),
    get<LeafWire>(`http://${agentAddr}/v1/agent/connect/ca/leaf/${o.server}`),
    get<RootsWire>(`http://${agentAddr}/v1/agent/connect/ca/roots`),
  ]);
  const file = (name: string, text: string) => {
    const p = join(tmp, `haproxy-${o.mode}-${name}`);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const clientPem = file("client.pem", pem(clientLeaf.CertPEM) + pem(clientLeaf.PrivateKeyPEM));
  const serverPem = file("server.pem", pem(serverLeaf.CertPEM) + pem(serverLeaf.PrivateKeyPEM));
  const rootsPem = file("roots.pem", roots.Roots.flatMap((r) => [r.RootCert, ...(r.IntermediateCerts ?? [])]).map(pem).join(""));
  const global = ["global", "  nbthread 1"];
  const aCfg = file("a.cfg", [...global, ...defaults(o.mode), "frontend a", `  bind 127.0.0.1:${o.aPort}`, "  default_backend b", "backend b", `  server b 127.0.0.1:${o.bPort} ssl crt ${clientPem} ca-file ${rootsPem} verify required`, ""].join("\n"));
  const bCfg = file("b.cfg", [...global, ...defaults(o.mode), "frontend b", `  bind 127.0.0.1:${o.bPort} ssl crt ${serverPem} ca-file ${rootsPem} verify required`, "  default_backend app", "backend app", `  server app 127.0.0.1:${o.appPort}`, ""].join("\n"));
  // -db: foreground, no daemon, so the pid is the process doing the work.
  const b = startPinned(tmp, `haproxy-${o.mode}-b`, 0, ["haproxy", "-db", "-f", bCfg]);
  const a = startPinned(tmp, `haproxy-${o.mode}-a`, 0, ["haproxy", "-db", "-f", aCfg]);
  return { a, b, port: o.aPort };
}
