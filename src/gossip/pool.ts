/**
 * createPool: the one call the agent makes per pool (LAN or WAN). It binds
 * the sockets (unless a transport is given), sets up encryption and the
 * packet label, and starts the Serf layer over the SWIM core.
 */
import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";
import type { GossipConfig } from "./config.ts";
import { LAN_CONFIG } from "./config.ts";
import { Keyring } from "./keyring.ts";
import { createEnvelope } from "./packet.ts";
import type { Random } from "./random.ts";
import { systemRandom } from "./random.ts";
import { DEFAULT_PORT, Serf } from "./serf.ts";
import type { PoolOptions } from "./types.ts";
import { UdpTransport } from "./udp_transport.ts";

/**
 * Starts a pool member. Resolves once the sockets are bound; call `join` to
 * meet the others.
 *
 * @example
 * const lan = await createPool({ name: "node1", dc: "dc1", bindPort: 8301, tags: { role: "node" } });
 * await lan.join(["10.0.0.2"]);
 * lan.on((e) => console.log(e.type));
 */
export async function createPool(o: PoolOptions): Promise<Serf> {
  const config: GossipConfig = { ...LAN_CONFIG, ...o.config };
  const clock: Clock = o.clock ?? systemClock;
  const random: Random = o.random ?? systemRandom;
  const keyring = o.keyring && o.keyring.keys.length > 0 ? Keyring.fromBase64(o.keyring.keys, o.keyring.primary) : null;
  const transport =
    o.transport ??
    (await UdpTransport.bind({
      bindAddr: o.bindAddr ?? "127.0.0.1",
      bindPort: o.bindPort ?? DEFAULT_PORT,
      ...(o.advertiseAddr !== undefined ? { advertiseAddr: o.advertiseAddr } : {}),
      ...(o.advertisePort !== undefined ? { advertisePort: o.advertisePort } : {}),
    }));
  const label = o.label ?? `lan:${o.dc ?? "dc1"}`;
  const envelope = createEnvelope(label, keyring, random, () => clock.now(), config.replayWindowMs);
  const serf = new Serf({
    name: o.name,
    tags: o.tags ?? {},
    config,
    clock,
    random,
    transport,
    envelope,
    keyring,
    ...(o.onKeyringChange ? { onKeyringChange: o.onKeyringChange } : {}),
    log: o.log ?? (() => {}),
  });
  serf.start();
  return serf;
}
