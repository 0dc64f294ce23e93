/**
 * Snapshot archives: Consul's layout (gzipped tar of meta.json, state.bin,
 * SHA256SUMS), checked against the real `tar` and `sha256sum`, and every way
 * a bad archive is refused.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  MAX_UNCOMPRESSED_BYTES,
  msgpackStrings,
  readArchive,
  readTar,
  SnapshotArchiveError,
  snapshotMeta,
  writeArchive,
  writeTar,
} from "../../src/snapshot/mod.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function sample(state = enc('{"Version":1,"hello":"world"}')): Uint8Array {
  const meta = snapshotMeta({ index: 42, servers: [{ Suffrage: 0, ID: "abc", Address: "127.0.0.1:8300" }], size: state.length, nowMs: 1_700_000_000_123 });
  return writeArchive(meta, state, 1_700_000_000_123);
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SnapshotArchiveError);
    return (err as Error).message;
  }
  throw new Error("expected a SnapshotArchiveError");
}

/** Rebuilds an archive from files, optionally gzipped. */
const rebuild = (files: { name: string; data: Uint8Array }[]) => new Uint8Array(gzipSync(writeTar(files)));

describe("archive layout", () => {
  test("round trip keeps meta and state", () => {
    const state = enc(JSON.stringify({ Version: 1, KV: ["x".repeat(5000)] }));
    const { meta, state: back } = readArchive(sample(state));
    expect(dec(back)).toBe(dec(state));
    expect(meta.Index).toBe(42);
    expect(meta.Term).toBe(1);
    expect(meta.Version).toBe(1);
    expect(meta.Size).toBe(state.length);
    expect(meta.ID).toBe("1-42-1700000000123");
    expect(meta.Configuration.Servers).toEqual([{ Suffrage: 0, ID: "abc", Address: "127.0.0.1:8300" }]);
  });

  test("the expansion bound admits a large catalog's state and refuses a gzip bomb past it", () => {
    // 100,000 instances and 1,000,000 KV keys expand past 180 MiB: the old
    // bound made a server refuse its own snapshot (bench/scale restores one).
    expect(MAX_UNCOMPRESSED_BYTES).toBeGreaterThanOrEqual(1024 * 1024 * 1024);
    const big = new Uint8Array(24 * 1024 * 1024);
    big[big.length - 1] = 7;
    const archive = sample(big);
    const { state } = readArchive(archive, 25 * 1024 * 1024);
    expect(state[state.length - 1]).toBe(7);
    expect(errorOf(() => readArchive(archive, 16 * 1024 * 1024))).toBe(
      "failed to decompress snapshot: archive expands past the 16777216-byte limit",
    );
  });

  test("the peer list is raft's msgpack array of addresses", () => {
    // The bytes Consul's own meta.json carries for one server at 127.0.0.1:8300.
    expect(Buffer.from(msgpackStrings(["127.0.0.1:8300"])).toString("base64")).toBe("ka4xMjcuMC4wLjE6ODMwMA==");
    const many = msgpackStrings(Array.from({ length: 20 }, (_, i) => `10.0.0.${i}:8300-with-a-long-suffix-${i}`));
    expect(many[0]).toBe(0xdc);
    expect(many[3]).toBe(0xd9);
  });

  test("GNU tar lists the three files, and sha256sum -c accepts SHA256SUMS", async () => {
    const dir = await mkdtemp(join(tmpdir(), "snap-"));
    try {
      await writeFile(join(dir, "backup.snap"), sample());
      const list = spawnSync("tar", ["-tvzf", "backup.snap"], { cwd: dir, encoding: "utf8" });
      expect(list.status).toBe(0);
      expect(list.stdout.trim().split("\n").map((l) => l.split(/\s+/).at(-1))).toEqual(["meta.json", "state.bin", "SHA256SUMS"]);
      expect(list.stdout).toContain("-rw-------");
      const x = spawnSync("tar", ["-xzf", "backup.snap"], { cwd: dir, encoding: "utf8" });
      expect(x.status).toBe(0);
      const sums = spawnSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir, encoding: "utf8" });
      expect(sums.stdout).toContain("meta.json: OK");
      expect(sums.stdout).toContain("state.bin: OK");
      expect(sums.status).toBe(0);
      const meta = JSON.parse(await readFile(join(dir, "meta.json"), "utf8"));
      expect(Object.keys(meta)).toEqual(["Version", "ID", "Index", "Term", "Peers", "Configuration", "ConfigurationIndex", "Size"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an archive made by GNU tar (in another order) is read", async () => {
    const dir = await mkdtemp(join(tmpdir(), "snap-"));
    try {
      const { state } = readArchive(sample());
      const files = readTar(new Uint8Array(gunzipSync(sample())));
      for (const f of files) await writeFile(join(dir, f.name), f.data);
      const made = spawnSync("tar", ["-czf", "out.tgz", "SHA256SUMS", "state.bin", "meta.json"], { cwd: dir });
      expect(made.status).toBe(0);
      const back = readArchive(new Uint8Array(await readFile(join(dir, "out.tgz"))));
      expect(dec(back.state)).toBe(dec(state));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("bad archives are refused with Consul's wording", () => {
  const files = () => readTar(new Uint8Array(gunzipSync(sample()))).map((f) => ({ name: f.name, data: new Uint8Array(f.data) }));

  test("not gzip", () => {
    expect(errorOf(() => readArchive(enc("this is not a snapshot at all")))).toBe("failed to decompress snapshot: gzip: invalid header");
    expect(errorOf(() => readArchive(new Uint8Array(0)))).toBe("failed to decompress snapshot: EOF");
  });

  test("truncated gzip", () => {
    const a = sample();
    expect(errorOf(() => readArchive(a.subarray(0, a.length - 20)))).toStartWith("failed to decompress snapshot: ");
  });

  test("gzip of something that is not tar", () => {
    expect(errorOf(() => readArchive(new Uint8Array(gzipSync(enc("x".repeat(2000))))))).toBe(
      "failed to read snapshot file: failed reading snapshot: archive/tar: invalid tar header",
    );
  });

  test("a flipped byte in state.bin fails the hash check", () => {
    const fs = files();
    fs[1]!.data[3] = fs[1]!.data[3]! ^ 1;
    expect(errorOf(() => readArchive(rebuild(fs)))).toBe('failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state.bin"');
  });

  test("a changed meta.json fails the hash check", () => {
    const fs = files();
    fs[0] = { name: "meta.json", data: enc(dec(fs[0]!.data).replace('"Index":42', '"Index":43')) };
    expect(errorOf(() => readArchive(rebuild(fs)))).toBe('failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "meta.json"');
  });

  test("missing SHA256SUMS, missing state.bin, extra file", () => {
    expect(errorOf(() => readArchive(rebuild(files().slice(0, 2))))).toBe('failed to read snapshot file: failed checking integrity of snapshot: file missing for "meta.json"');
    const noState = files().filter((f) => f.name !== "state.bin");
    expect(errorOf(() => readArchive(rebuild(noState)))).toBe('failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state.bin"');
    expect(errorOf(() => readArchive(rebuild([...files(), { name: "evil.sh", data: enc("rm -rf /") }])))).toBe(
      'failed to read snapshot file: unexpected file "evil.sh" in snapshot',
    );
  });

  test("meta.json that is not JSON", () => {
    const fs = files();
    fs[0] = { name: "meta.json", data: enc("{nope") };
    expect(errorOf(() => readArchive(rebuild(fs)))).toStartWith("failed to read snapshot file: failed to decode snapshot metadata: ");
  });

  test("a tar cut short", () => {
    const tar = writeTar(files());
    expect(errorOf(() => readArchive(new Uint8Array(gzipSync(tar.subarray(0, 700)))))).toBe("failed to read snapshot file: failed reading snapshot: unexpected EOF");
  });

  test("trailing garbage after the gzip stream", () => {
    const a = sample();
    const withTail = new Uint8Array(a.length + 3);
    withTail.set(a);
    withTail.set([1, 2, 3], a.length);
    expect(errorOf(() => readArchive(withTail))).toStartWith("failed to decompress snapshot: ");
  });
});
