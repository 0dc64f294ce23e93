/**
 * Operations on a 3-server cluster on NATS, as a user runs them:
 * `operator raft list-peers` shows the three servers and one leader;
 * `snapshot save` from one server and `snapshot restore` through another put
 * every server back to the saved state (the restore is one log entry all
 * replicas apply); a bad archive changes nothing anywhere.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startNatsCluster, type NatsCluster } from "../_nats.ts";
import { runCliProcess } from "../api/harness.ts";
import { eventually, http, startServerCluster, type ServerClusterHandle } from "./_cluster.ts";

let nats: NatsCluster;
let cluster: ServerClusterHandle;

beforeAll(async () => {
  nats = await startNatsCluster();
  cluster = await startServerCluster(nats);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  await nats?.stop();
});

const base = (i: number) => cluster.servers[i]!.base;
const cli = (i: number, args: string[]) => runCliProcess(args, { address: base(i).replace("http://", "") });

async function dump(i: number): Promise<unknown> {
  const r = await http(`${base(i)}/v1/kv/ops/?recurse`);
  return r.status === 404 ? [] : ((await r.json()) as { Key: string; Value: string }[]).map((e) => [e.Key, e.Value]);
}

test("list-peers: three servers, one leader, as every server sees it", async () => {
  for (const i of [0, 1, 2]) {
    const out = await eventually(`server ${i} to list a leader`, async () => {
      const r = await cli(i, ["operator", "raft", "list-peers"]);
      return r.code === 0 && r.stdout.includes("leader") ? r.stdout : null;
    });
    const rows = out.trim().split("\n");
    expect(rows[0]).toMatch(/^Node\s+ID\s+Address\s+State\s+Voter\s+RaftProtocol/);
    expect(rows).toHaveLength(4);
    expect(rows.filter((r) => /\sleader\s/.test(r))).toHaveLength(1);
    expect(new Set(rows.slice(1).map((r) => r.split(/\s+/)[0]))).toEqual(new Set(["s0", "s1", "s2"]));
  }
}, 30_000);

test("snapshot saved on one server, restored through another, reaches all three; a bad archive changes nothing", async () => {
  for (let i = 0; i < 10; i++) expect(await (await http(`${base(i % 3)}/v1/kv/ops/k${i}`, { method: "PUT", body: `v${i}` })).text()).toBe("true");
  const saved = await dump(0);
  const file = join(cluster.dir, "cluster.snap");
  const save = await cli(0, ["snapshot", "save", file]);
  expect(save.stdout).toMatch(/^Saved and verified snapshot to index \d+\n$/);

  await http(`${base(1)}/v1/kv/ops/?recurse`, { method: "DELETE" });
  await http(`${base(2)}/v1/kv/ops/extra`, { method: "PUT", body: "x" });
  expect(await cli(1, ["snapshot", "restore", file])).toEqual({ code: 0, stdout: "Restored snapshot\n", stderr: "" });
  for (const i of [0, 1, 2]) expect(await dump(i)).toEqual(saved);

  const bad = new Uint8Array(await readFile(file));
  bad[bad.length - 20] = bad[bad.length - 20]! ^ 0xff;
  await writeFile(`${file}.bad`, bad);
  const before = await http(`${base(2)}/v1/kv/ops/?recurse&consistent`);
  const index = before.headers.get("X-Consul-Index");
  const refused = await cli(2, ["snapshot", "restore", `${file}.bad`]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/^Error restoring snapshot: Unexpected response code: 400 /);
  for (const i of [0, 1, 2]) expect(await dump(i)).toEqual(saved);
  expect((await http(`${base(0)}/v1/kv/ops/?recurse&consistent`)).headers.get("X-Consul-Index")).toBe(index);
}, 60_000);
