/**
 * The AES-GCM keyring and pool-wide key operations, done as Serf does them:
 * internal queries every member answers. A rotation (install, use, remove)
 * across a running pool marks nobody failed.
 */
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { Keyring, KeyringError, decodeKey, encodeKey } from "../../src/gossip/keyring.ts";
import { SimCluster } from "../../src/gossip/sim/cluster.ts";

const k1 = encodeKey(randomBytes(32));
const k2 = encodeKey(randomBytes(32));
const k3 = encodeKey(randomBytes(16));

describe("keyring", () => {
  test("keys must be base64 of 16, 24 or 32 bytes", () => {
    expect(() => decodeKey("not base64!")).toThrow(KeyringError);
    expect(() => decodeKey(encodeKey(randomBytes(20)))).toThrow("key size must be 16, 24 or 32 bytes");
    expect(decodeKey(k3).length).toBe(16);
  });

  test("encrypts with the primary, decrypts with any installed key, binds the header", () => {
    const a = Keyring.fromBase64([k1]);
    const b = Keyring.fromBase64([k2, k1], k2);
    const aad = new TextEncoder().encode("lan:dc1");
    const msg = new TextEncoder().encode("hello");
    expect(b.decrypt(a.encrypt(msg, aad), aad)).toEqual(msg);
    expect(a.decrypt(b.encrypt(msg, aad), aad)).toBeNull();
    expect(b.decrypt(a.encrypt(msg, aad), new TextEncoder().encode("lan:dc2"))).toBeNull();
    expect(() => b.removeKey(decodeKey(k2))).toThrow("Removing the primary key is not allowed");
    expect(() => a.useKey(decodeKey(k2))).toThrow("Requested key is not in the keyring");
  });

  test("rotation across a running pool: install, use, remove; every member answers; nobody fails", async () => {
    const c = new SimCluster({ n: 20, seed: 21, keys: [k1] });
    c.runFor(3000);
    const op = async <T>(p: Promise<T>): Promise<T> => {
      c.runFor(10_000);
      return p;
    };
    const a = c.nodes[0]?.serf;
    if (!a) throw new Error("no node");

    const inst = await op(a.installKey(k2));
    expect(inst).toMatchObject({ NumNodes: 20, NumResp: 20, NumErr: 0, Messages: {} });
    const listed = await op(a.listKeys());
    expect(listed.Keys).toEqual({ [k1]: 20, [k2]: 20 });
    expect(listed.PrimaryKeys).toEqual({ [k1]: 20 });

    // The primary cannot be removed.
    const bad = await op(a.removeKey(k1));
    expect(bad.NumErr).toBe(20);
    expect(Object.values(bad.Messages)[0]).toBe("Removing the primary key is not allowed");

    expect((await op(a.useKey(k2))).NumErr).toBe(0);
    expect((await op(a.removeKey(k1))).NumErr).toBe(0);
    const after = await op(a.listKeys());
    expect(after.Keys).toEqual({ [k2]: 20 });
    expect(after.PrimaryKeys).toEqual({ [k2]: 20 });

    // Traffic keeps flowing under the new key alone.
    c.runFor(30_000);
    expect(c.failures).toEqual([]);
    for (const n of c.nodes) expect(n.serf.numAliveMembers()).toBe(20);
    void c.shutdown();
  }, 30_000);

  test("a key not installed on a member is refused there, per member", async () => {
    const c = new SimCluster({ n: 5, seed: 4, keys: [k1] });
    c.runFor(2000);
    const a = c.nodes[0]?.serf;
    if (!a) throw new Error("no node");
    const p = a.useKey(k3);
    c.runFor(10_000);
    const r = await p;
    expect(r.NumResp).toBe(5);
    expect(r.NumErr).toBe(5);
    expect(r.Messages.n3).toBe("Requested key is not in the keyring");
    void c.shutdown();
  });

  test("without encryption, key operations report that per member", async () => {
    const c = new SimCluster({ n: 3, seed: 4 });
    c.runFor(2000);
    const a = c.nodes[0]?.serf;
    if (!a) throw new Error("no node");
    const p = a.listKeys();
    c.runFor(10_000);
    const r = await p;
    expect(r.NumErr).toBe(3);
    expect(r.Messages.n1).toBe("Keyring is empty (encryption not enabled)");
    void c.shutdown();
  });
});
