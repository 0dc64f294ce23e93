/** The CLI as a user runs it, against a real dev agent. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../src/api/mod.ts";
import { spawnSync } from "node:child_process";
import { BUN, MAIN, runCliProcess, startCli, startTestAgent, waitFor, type TestAgent } from "../api/harness.ts";

let agent: TestAgent;
let client: Client;
let dir: string;
const cli = (args: string[], stdin?: string) => runCliProcess(args, { address: agent.address, ...(stdin !== undefined ? { stdin } : {}) });

beforeAll(async () => {
  agent = await startTestAgent();
  client = new Client({ address: agent.address });
  dir = await mkdtemp(join(tmpdir(), "consulate-cli-"));
});

afterAll(async () => {
  await agent?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("kv put and get: plain, -detailed, -base64, stdin and @file sources, missing key", async () => {
  expect(await cli(["kv", "put", "app/name", "consulate"])).toEqual({ code: 0, stdout: "Success! Data written to: app/name\n", stderr: "" });
  expect(await cli(["kv", "get", "app/name"])).toEqual({ code: 0, stdout: "consulate\n", stderr: "" });
  expect(await cli(["kv", "put", "app/stdin", "-"], "from stdin")).toMatchObject({ code: 0 });
  expect((await cli(["kv", "get", "/app/stdin"])).stdout).toBe("from stdin\n");
  const file = join(dir, "value.txt");
  await writeFile(file, "from file");
  await cli(["kv", "put", "-flags=42", "app/file", `@${file}`]);
  const detailed = await cli(["kv", "get", "-detailed", "app/file"]);
  expect(detailed.code).toBe(0);
  expect(detailed.stdout).toMatch(
    /^CreateIndex {6}\d+\nFlags {12}42\nKey {14}app\/file\nLockIndex {8}0\nModifyIndex {6}\d+\nSession {10}-\nValue {12}from file\n$/,
  );
  await cli(["kv", "put", "-base64", "app/bin", "AP8="]);
  expect((await cli(["kv", "get", "-base64", "app/bin"])).stdout).toBe("AP8=\n");
  // Without -base64 the value's bytes come out as stored, not UTF-8-repaired (Consul's string(pair.Value)).
  const raw = spawnSync(BUN, [MAIN, "kv", "get", `-http-addr=${agent.address}`, "app/bin"]);
  expect(raw.status).toBe(0);
  expect([...raw.stdout]).toEqual([0x00, 0xff, 0x0a]);
  expect(await cli(["kv", "get", "app/nope"])).toEqual({ code: 1, stdout: "", stderr: "Error! No key exists at: app/nope\n" });
});

test("kv get -recurse and -keys list a prefix", async () => {
  await cli(["kv", "put", "tree/a", "1"]);
  await cli(["kv", "put", "tree/b/c", "2"]);
  expect((await cli(["kv", "get", "-recurse", "tree"])).stdout).toBe("tree/a:1\ntree/b/c:2\n");
  expect((await cli(["kv", "get", "-keys", "tree/"])).stdout).toBe("tree/a\ntree/b/\n");
  expect((await cli(["kv", "get", "-keys", "-separator=", "tree/"])).stdout).toBe("tree/a\ntree/b/c\n");
  expect((await cli(["kv", "get", "-keys", "-recurse", "tree/"])).stdout).toBe("tree/a\ntree/b/c\n");
  const detailed = await cli(["kv", "get", "-recurse", "-detailed", "tree"]);
  expect(detailed.stdout.split("\n\n")).toHaveLength(2);
});

test("kv put -cas and kv delete -cas follow the modify index", async () => {
  await cli(["kv", "put", "cas/k", "v1"]);
  const [pair] = await client.kv().get("cas/k");
  const idx = String(pair?.ModifyIndex);
  expect(await cli(["kv", "put", "-cas", "-modify-index=1", "cas/k", "v2"])).toMatchObject({
    code: 1,
    stderr: "Error! Did not write to cas/k: CAS failed\n",
  });
  expect(await cli(["kv", "put", "-cas", "-modify-index=0", "cas/k", "v2"])).toMatchObject({
    code: 1,
    stderr: "Error! Did not write to cas/k: CAS performed with index=0 and key already exists.\n",
  });
  expect(await cli(["kv", "put", "-cas", `-modify-index=${idx}`, "cas/k", "v2"])).toMatchObject({ code: 0 });
  expect((await cli(["kv", "get", "cas/k"])).stdout).toBe("v2\n");
  expect(await cli(["kv", "delete", "-cas", `-modify-index=${idx}`, "cas/k"])).toMatchObject({
    code: 1,
    stderr: "Error! Did not delete key cas/k: CAS failed\n",
  });
  const [now] = await client.kv().get("cas/k");
  expect(await cli(["kv", "delete", "-cas", `-modify-index=${now?.ModifyIndex}`, "cas/k"])).toEqual({
    code: 0,
    stdout: "Success! Deleted key: cas/k\n",
    stderr: "",
  });
});

test("kv put -acquire / -release take and give back a session lock", async () => {
  const session = await client.session().create({ Name: "cli", TTL: "30s" });
  expect(await cli(["kv", "put", "-acquire", `-session=${session}`, "locked/k", "mine"])).toEqual({
    code: 0,
    stdout: "Success! Lock acquired on: locked/k\n",
    stderr: "",
  });
  expect((await cli(["kv", "get", "-detailed", "locked/k"])).stdout).toContain(`Session          ${session}\n`);
  const other = await client.session().create({ Name: "other", TTL: "30s" });
  expect(await cli(["kv", "put", "-acquire", `-session=${other}`, "locked/k", "theirs"])).toMatchObject({
    code: 1,
    stderr: "Error! Did not acquire lock\n",
  });
  expect(await cli(["kv", "put", "-release", `-session=${session}`, "locked/k"])).toMatchObject({
    code: 0,
    stdout: "Success! Lock released on: locked/k\n",
  });
  await client.session().destroy(session);
  await client.session().destroy(other);
});

test("kv delete -recurse removes a prefix", async () => {
  await cli(["kv", "put", "gone/a", "1"]);
  await cli(["kv", "put", "gone/b", "2"]);
  expect(await cli(["kv", "delete", "-recurse", "gone"])).toEqual({ code: 0, stdout: "Success! Deleted keys with prefix: gone\n", stderr: "" });
  expect((await client.kv().list("gone"))[0]).toEqual([]);
});

test("kv export and import round-trip values and 64-bit flags, with -prefix", async () => {
  await client.kv().put({ Key: "exp/a", Value: "<A&B>", Flags: 16210313421097356768n });
  await client.kv().put({ Key: "exp/b", Value: new Uint8Array([1, 2, 3]) });
  const exported = await cli(["kv", "export", "exp/"]);
  expect(exported.code).toBe(0);
  expect(exported.stdout).toContain('"flags": 16210313421097356768');
  expect(exported.stdout).toContain('\t\t"key": "exp/a",\n');
  const file = join(dir, "export.json");
  await writeFile(file, exported.stdout);
  const imported = await cli(["kv", "import", "-prefix=copy", `@${file}`]);
  expect(imported).toEqual({ code: 0, stdout: "Imported: copy/exp/a\nImported: copy/exp/b\n", stderr: "" });
  const [a] = await client.kv().get("copy/exp/a");
  expect(new TextDecoder().decode(a?.Value ?? new Uint8Array())).toBe("<A&B>");
  expect(a?.Flags).toBe(16210313421097356768n);
  expect((await client.kv().get("copy/exp/b"))[0]?.Value).toEqual(new Uint8Array([1, 2, 3]));
  const viaStdin = await cli(["kv", "import", "-"], await readFile(file, "utf8"));
  expect(viaStdin.stdout).toBe("Imported: exp/a\nImported: exp/b\n");
  expect((await cli(["kv", "export", "does/not/exist"])).stdout).toBe("[]\n");
});

test("catalog datacenters, nodes and services", async () => {
  await client.catalog().register({
    Node: "web-node",
    Address: "10.5.5.5",
    NodeMeta: { zone: "z1" },
    Service: { ID: "web1", Service: "web", Tags: ["v2", "a"], Port: 80 },
  });
  expect(await cli(["catalog", "datacenters"])).toEqual({ code: 0, stdout: "dc1\n", stderr: "" });
  const nodes = await cli(["catalog", "nodes"]);
  expect(nodes.stdout.split("\n")[0]).toMatch(/^Node +ID +Address +DC$/);
  expect(nodes.stdout).toMatch(/\nweb-node +\S* +10\.5\.5\.5 +dc1\n/);
  const byService = await cli(["catalog", "nodes", "-service=web"]);
  expect(byService.stdout.trim().split("\n")).toHaveLength(2);
  const filtered = await cli(["catalog", "nodes", "-detailed", '-filter=Meta.zone == "z1"']);
  expect(filtered.stdout).toContain("zone=z1");
  expect(filtered.stdout.trim().split("\n")).toHaveLength(2);
  expect(await cli(["catalog", "nodes", "-service=nothing"])).toEqual({
    code: 0,
    stdout: "",
    stderr: "No nodes match the given query - try expanding your search.\n",
  });
  expect((await cli(["catalog", "services"])).stdout).toContain("web\n");
  expect((await cli(["catalog", "services", "-tags"])).stdout).toMatch(/(^|\n)web +a,v2\n/);
  expect((await cli(["catalog", "services", "-node=web-node"])).stdout).toBe("web\n");
  await client.catalog().deregister({ Node: "web-node" });
});

test("members shows the dev agent as an alive server", async () => {
  const r = await cli(["members"]);
  expect(r.code).toBe(0);
  const [header, row] = r.stdout.split("\n");
  expect(header).toMatch(/^Node +Address +Status +Type +Build +Protocol +DC +Partition +Segment$/);
  expect(row).toMatch(/^\S+ +127\.0\.0\.1:\d+ +alive +server +\S+ +2 +dc1 +default +<all>$/);
  expect((await cli(["members", "-status=failed"])).code).toBe(2);
  expect((await cli(["members", "-detailed"])).stdout).toContain("role=consul");
});

test("lock runs the child with CONSUL_LOCK_HELD and cleans up the lock key and session", async () => {
  const r = await cli(["lock", "jobs/one", 'echo "held=$CONSUL_LOCK_HELD"']);
  expect(r).toEqual({ code: 0, stdout: "held=true\n", stderr: "" });
  expect((await client.kv().list("jobs/one"))[0]).toEqual([]);
  expect((await client.session().list())[0].filter((s) => s.Name.startsWith("Consul lock for"))).toEqual([]);
  expect(await cli(["lock", "jobs/one", "exit 3"])).toMatchObject({ code: 0, stderr: "Error running handler: exit status 3\n" });
  expect((await cli(["lock", "-child-exit-code", "jobs/one", "exit 3"])).code).toBe(2);
});

test("lock excludes concurrent holders and -timeout gives up", async () => {
  const log = join(dir, "lock.log");
  const body = `echo start >> ${log}; sleep 0.6; echo end >> ${log}`;
  const [a, b] = await Promise.all([cli(["lock", "jobs/two", body]), cli(["lock", "jobs/two", body])]);
  expect([a.code, b.code]).toEqual([0, 0]);
  expect(await readFile(log, "utf8")).toBe("start\nend\nstart\nend\n");

  const holder = startCli(["lock", "jobs/two", "echo ready; sleep 30"], { address: agent.address });
  await waitFor(() => holder.stdout().includes("ready"));
  const timedOut = await cli(["lock", "-timeout=500ms", "jobs/two", "echo should-not-run"]);
  expect(timedOut).toEqual({ code: 1, stdout: "", stderr: "Shutdown triggered or timeout during lock acquisition\n" });

  // SIGTERM to the holder stops its child and releases the lock.
  holder.kill("SIGTERM");
  const done = await holder.done;
  expect(done.code).toBe(0);
  expect((await client.kv().get("jobs/two/.lock"))[0]).toBeNull();
});

test("lock -n 2 is a semaphore: two children run at once", async () => {
  const log = join(dir, "sema.log");
  const body = `echo start >> ${log}; sleep 0.8; echo end >> ${log}`;
  const results = await Promise.all([cli(["lock", "-n=2", "jobs/sema", body]), cli(["lock", "-n=2", "jobs/sema", body])]);
  expect(results.map((r) => r.code)).toEqual([0, 0]);
  expect(await readFile(log, "utf8")).toBe("start\nstart\nend\nend\n");
  expect((await client.kv().list("jobs/sema"))[0]).toEqual([]);
});

test("version prints the version and protocol line", async () => {
  const r = await runCliProcess(["version"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^Consulate v\d+\.\d+\.\d+\nProtocol 2 spoken by default, understands 2 to 3/);
});
