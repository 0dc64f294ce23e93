/**
 * The L4 side of an upstream's local listener (a chain whose protocol is not
 * HTTP): each connection is spliced to an instance of the chain's first
 * cluster, picked by its balancer, over mutual TLS; a failed dial tries
 * another instance (up to three) and counts against the one that failed.
 */
import type { Socket } from "node:net";
import type { L7Engine } from "../l7/engine.ts";
import type { ChainPlan } from "../l7/plan.ts";
import type { MeshIdentity } from "../mesh/identity.ts";
import { errorText, type MeshLogger } from "../mesh/log.ts";
import { splice } from "../mesh/relay.ts";
import { dialInstance } from "../mesh/upstream.ts";

export interface TcpFrontOptions<R> {
  readonly engine: L7Engine<R>;
  readonly identity: MeshIdentity;
  /** The upstream's service, for messages. */
  readonly service: string;
  readonly log: MeshLogger;
}

/** Splices a paused local connection to the first route's first cluster; destroys it when there is none or every dial fails. */
export function serveTcp<R>(o: TcpFrontOptions<R>, local: Socket, plan: ChainPlan): void {
  const { engine, identity } = o;
  const leg = plan.routes[0]?.legs[0];
  const cluster = leg ? engine.clusterRuntimes.get(leg.cluster) : undefined;
  if (!cluster) {
    local.destroy();
    return;
  }
  let closed = false;
  local.once("close", () => (closed = true));
  const attempt = async (tries: number): Promise<void> => {
    const eps = engine.endpoints(cluster);
    const ep = cluster.balancer.pick(eps, null);
    if (!ep) throw new Error(`no healthy instance of "${o.service}"`);
    try {
      const m = identity.material ?? (await identity.ready());
      const remote = await dialInstance(m, { address: ep.address, port: ep.port, id: ep.key, node: "" }, { service: ep.target.service, namespace: ep.target.namespace, datacenter: ep.target.datacenter, subset: ep.target.subset }, identity.datacenter ?? "", cluster.connectTimeoutMs);
      cluster.outlier?.report(ep.key, false, eps.length);
      if (closed) {
        remote.destroy();
        return;
      }
      remote.setNoDelay(true);
      splice(local, remote);
      local.resume();
    } catch (err) {
      cluster.outlier?.report(ep.key, true, eps.length);
      if (tries > 1) return attempt(tries - 1);
      throw err;
    }
  };
  attempt(Math.min(3, Math.max(1, engine.endpoints(cluster).length))).catch((err) => {
    o.log.warn(`upstream "${o.service}": connection dropped: ${errorText(err)}`);
    local.destroy();
  });
}
