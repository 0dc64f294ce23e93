/**
 * The datacenter side of the edge path, as a fetch handler: the edge bundle
 * has already routed, checked JWTs and picked a target (`x-consulate-target`);
 * the relay checks that the caller presented the gateway's own leaf, picks a
 * healthy instance of that target (failover and load balancing as the
 * gateway's table says) and forwards over mutual TLS with the gateway's
 * identity, so the destination's intentions judge the gateway.
 */
import type { OutboundRequest, Transport } from "../l7/engine.ts";
import type { GatewayHandler, Upstream } from "./handler.ts";

export const TARGET_HEADER = "x-consulate-target";

export interface RelayDeps {
  /** null when the client is the gateway; else why it is refused. */
  readonly peer: () => string | null;
  readonly handlers: () => readonly GatewayHandler[];
  readonly transport: Transport<Upstream>;
}

const text = (status: number, body: string): Response => new Response(body, { status, headers: { "content-type": "text/plain" } });

export async function relayHandler(req: Request, d: RelayDeps): Promise<Response> {
  const refused = d.peer();
  if (refused !== null) return text(403, `RBAC: access denied: ${refused}`);
  const target = req.headers.get(TARGET_HEADER) ?? "";
  for (const h of d.handlers()) {
    const plan = h.engine.currentPlan;
    if (!plan?.targets.has(target)) continue;
    const cluster = [...h.engine.clusterRuntimes.values()].find((c) => c.plan.targets.includes(target));
    if (!cluster) continue;
    const eps = h.engine.endpoints(cluster);
    const ep = cluster.balancer.pick(eps, null);
    if (!ep) return text(503, "no healthy upstream");
    const url = new URL(req.url);
    const headers: [string, string][] = [];
    req.headers.forEach((v, k) => {
      if (k !== TARGET_HEADER) headers.push([k, v]);
    });
    const out: OutboundRequest = { method: req.method, target: url.pathname + url.search, headers, body: req.body ? new Uint8Array(await req.arrayBuffer()) : new Uint8Array(0) };
    const signal = AbortSignal.timeout(cluster.plan.requestTimeoutMs || 15_000);
    const res = await d.transport.send(ep, cluster, out, signal);
    if (res.kind === "failure") return text(503, `upstream connect error or disconnect/reset before headers. reset reason: ${res.reason === "connect-failure" ? "connection failure" : "connection termination"}`);
    const resHeaders = res.headers.filter(([k]) => !["connection", "keep-alive", "transfer-encoding"].includes(k.toLowerCase()));
    const r = res.response;
    // A bodiless answer (204, 304, HEAD) comes as no bytes: a web Response refuses a body there.
    return new Response(r instanceof Uint8Array ? (r.length > 0 ? r : null) : r.body, { status: res.status, headers: resHeaders });
  }
  return text(404, `unknown target ${JSON.stringify(target)}`);
}
