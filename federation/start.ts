/**
 * Starting a server agent's federation from its config: a connection to its
 * own datacenter's NATS for the answering side, and a connector for links to
 * the others (quick to give up a dial, quick to notice a dead link: a
 * datacenter that goes away must show as unreachable within a second or two).
 */
import { ownNatsUrls, type FederationSettings } from "./config.ts";
import { Federation } from "./federation.ts";
import { loadClaim } from "./primary_state.ts";
import type { LinkLog } from "./link.ts";
import { connectNats, type NatsSettings } from "../src/cluster/nats.ts";
import type { GossipPool } from "../src/gossip/mod.ts";
import type { Server } from "../src/server/server.ts";

export interface StartFederationOptions {
  readonly server: Server;
  readonly primary: string;
  readonly federation: FederationSettings;
  /** The agent's `nats` settings (credentials and TLS are shared; the URLs are the log's). */
  readonly nats: NatsSettings;
  readonly wan: GossipPool | null;
  readonly nodeName: string;
  readonly log: LinkLog;
  /** Where a promotion is kept across restarts (null in -dev). */
  readonly claimFile: string | null;
}

/**
 * noAsyncTraces: nats.js otherwise builds two Error objects (stack traces for
 * a possible timeout) per request; on the cross-datacenter read path that was
 * about a tenth of the CPU (bench/federation/rpc_path.ts under --cpu-prof).
 */
export const LINK_OPTIONS = { pingInterval: 1_000, maxPingOut: 2, timeout: 1_000, reconnectTimeWait: 250, reconnectJitter: 50, noAsyncTraces: true } as const;

/** Null when this datacenter names no NATS for federation (it then answers only for itself). */
export async function startFederation(o: StartFederationOptions): Promise<Federation | null> {
  const own = ownNatsUrls(o.federation, o.nats.urls);
  if (own.length === 0) return null;
  const nc = await connectNats({ ...o.nats, urls: [...own] }, `consulate federation ${o.nodeName}`);
  try {
    const fed = new Federation({
      server: o.server,
      primary: o.primary,
      claim: await loadClaim(o.claimFile),
      claimFile: o.claimFile,
      nc,
      connector: (urls, name) => connectNats({ ...o.nats, urls: [...urls] }, name, 0, LINK_OPTIONS),
      staticUrls: o.federation.datacenters,
      wan: o.wan,
      log: o.log,
    });
    const stop = fed.stop.bind(fed);
    fed.stop = async () => {
      await stop();
      await nc.close().catch(() => {});
    };
    return fed;
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
}
