/**
 * Hostile and broken packets: truncated, under an unknown key, from another
 * datacenter, replayed, stale, plaintext into an encrypted pool, or just
 * random bytes. Each is dropped and counted by reason; nothing crashes and
 * the pool keeps working. The decoders are fuzzed on their own too.
 */
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { Keyring, encodeKey } from "../../src/gossip/keyring.ts";
import { MsgType, decodeCompound, decodeMessage, encodeCompound, encodeMessage } from "../../src/gossip/messages.ts";
import { createEnvelope, seal } from "../../src/gossip/packet.ts";
import { seededRandom } from "../../src/gossip/random.ts";
import { decodeCoordinate, decodeKeyResponse, decodeSerf, decodeTags } from "../../src/gossip/serf_messages.ts";
import { SimCluster } from "../../src/gossip/sim/cluster.ts";
import type { Address } from "../../src/gossip/transport.ts";
import { WireDecodeError } from "../../src/gossip/wire.ts";

const key = encodeKey(randomBytes(32));
const other = encodeKey(randomBytes(32));
const stranger: Address = { addr: "192.0.2.1", port: 7946 };

function ping(): Uint8Array {
  return encodeCompound([encodeMessage({ t: MsgType.ping, seq: 1, node: "n0", sourceName: "x", sourceAddr: stranger.addr, sourcePort: 7946 })]);
}

describe("bad input", () => {
  test("each kind of bad packet is dropped and counted by reason; the pool carries on", () => {
    const c = new SimCluster({ n: 3, seed: 8, keys: [key] });
    const captured: { from: Address; to: Address; data: Uint8Array }[] = [];
    c.net.tap = (from, to, data) => captured.push({ from, to, data: data.slice() });
    c.runFor(3000);
    c.net.tap = null;
    const target = c.nodes[0];
    if (!target) throw new Error("no node");
    const toTarget = captured.filter((p) => p.to.addr === target.addr.addr);
    expect(toTarget.length).toBeGreaterThan(2);
    const sample = toTarget[0]?.data as Uint8Array;
    const dropped = () => target.serf.stats().dropped;
    const now = () => c.clock.now();

    // Truncated: headers cut short are malformed; cut ciphertext fails authentication (no key opens it).
    for (const len of [0, 1, 2, 3, 5]) c.net.inject(stranger, target.addr, sample.subarray(0, len));
    c.runFor(10);
    expect(dropped().malformed).toBe(5);
    for (const len of [20, 40, sample.length - 1]) c.net.inject(stranger, target.addr, sample.subarray(0, len));
    c.runFor(10);
    expect(dropped().unknownKey).toBe(3);

    // Unknown key.
    const r = seededRandom(1);
    c.net.inject(stranger, target.addr, seal(createEnvelope("lan:dc1", Keyring.fromBase64([other]), r, now, 120_000), ping()));
    // Another datacenter's pool on our LAN port (right key, wrong label).
    c.net.inject(stranger, target.addr, seal(createEnvelope("lan:dc2", Keyring.fromBase64([key]), r, now, 120_000), ping()));
    // Plaintext into an encrypted pool.
    c.net.inject(stranger, target.addr, seal(createEnvelope("lan:dc1", null, r, now, 120_000), ping()));
    // An unknown wire version.
    const v9 = sample.slice();
    v9[0] = 9;
    c.net.inject(stranger, target.addr, v9);
    c.runFor(10);
    expect(dropped()).toMatchObject({ unknownKey: 4, wrongLabel: 1, unencrypted: 1, badVersion: 1 });

    // Replays: a packet already delivered, sent again within the window, then after it.
    for (const p of toTarget.slice(0, 3)) c.net.inject(p.from, p.to, p.data);
    c.runFor(10);
    expect(dropped().replayed).toBe(3);
    c.runFor(130_000);
    const stale0 = dropped().stale;
    c.net.inject(toTarget[5]?.from ?? stranger, target.addr, toTarget[5]?.data ?? sample);
    c.runFor(10);
    expect(dropped().stale).toBe(stale0 + 1);

    // None of it hurt: the members are all alive and nobody was marked failed.
    expect(c.failures).toEqual([]);
    for (const n of c.nodes) expect(n.serf.numAliveMembers()).toBe(3);
    void c.shutdown();
  });

  test("fuzzed packets into a plaintext pool never crash it", () => {
    const c = new SimCluster({ n: 4, seed: 9 });
    const captured: Uint8Array[] = [];
    c.net.tap = (_f, _t, data) => captured.push(data.slice());
    c.runFor(3000);
    c.net.tap = null;
    const r = seededRandom(42);
    const target = c.nodes[0];
    if (!target) throw new Error("no node");
    for (let i = 0; i < 5000; i++) {
      const base = captured[Math.floor(r.next() * captured.length)] as Uint8Array;
      let p: Uint8Array;
      if (i % 4 === 0) p = randomBytes(Math.floor(r.next() * 200));
      else {
        p = base.slice(0, Math.max(1, Math.floor(r.next() * (base.length + 8))));
        // Keep the header (version and label) intact half the time so the fuzz reaches the decoders.
        const from = i % 2 === 0 ? 0 : 11;
        for (let k = 0; k < 1 + Math.floor(r.next() * 4); k++) {
          const at = from + Math.floor(r.next() * Math.max(1, p.length - from));
          if (at < p.length) p[at] = Math.floor(r.next() * 256);
        }
      }
      c.net.inject({ addr: "192.0.2.9", port: 1 }, target.addr, p);
      if (i % 100 === 0) c.runFor(50);
    }
    c.runFor(5000);
    const d = target.serf.stats().dropped;
    expect(d.malformed + d.stale + d.replayed + d.badVersion + d.wrongLabel).toBeGreaterThan(1000);
    void c.shutdown();
  });

  test("the decoders throw only WireDecodeError on any input", () => {
    const r = seededRandom(7);
    const decoders = [decodeMessage, decodeCompound, decodeSerf, decodeTags, decodeCoordinate, decodeKeyResponse];
    const valid = [
      encodeMessage({ t: MsgType.alive, incarnation: 3, node: "n1", addr: "10.0.0.1", port: 8301, meta: new Uint8Array([1, 2]), vsn: [1, 5, 2, 2, 5, 4] }),
      encodeMessage({ t: MsgType.pushPull, join: true, nodes: [], userState: new Uint8Array([3, 1, 0, 0, 1, 0, 1]) }),
    ];
    let threw = 0;
    for (let i = 0; i < 20_000; i++) {
      const base = valid[i % valid.length] as Uint8Array;
      const input = i % 3 === 0 ? randomBytes(Math.floor(r.next() * 64)) : base.slice(0, Math.floor(r.next() * (base.length + 1)));
      if (i % 3 === 1 && input.length > 0) input[Math.floor(r.next() * input.length)] = Math.floor(r.next() * 256);
      for (const d of decoders) {
        try {
          d(input);
        } catch (e) {
          if (!(e instanceof WireDecodeError)) throw e;
          threw++;
        }
      }
    }
    expect(threw).toBeGreaterThan(10_000);
  });
});
