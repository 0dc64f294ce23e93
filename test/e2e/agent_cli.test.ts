/** The agent CLI verbs as a user runs them: services, maint, event, watch, reload, leave. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCliProcess, startCli } from "../api/harness.ts";
import { cleanupAll, type LocalAgent, newDir, startLocalAgent, waitUntil } from "./_local_agent.ts";

let agent: LocalAgent;
let dir: string;
const cli = (args: string[], address = `127.0.0.1:${agent.port}`) => runCliProcess(args, { address });

beforeAll(async () => {
  agent = await startLocalAgent(["-dev", "-node", "cli-e2e"]);
  dir = await newDir();
});
afterAll(cleanupAll);

test("services register from flags and from a file, then deregister by -id and by file", async () => {
  expect(await cli(["services", "register", "-name=web", "-id=web1", "-port=8080", "-tag=blue", "-tag=v2", "-meta=team=core", "-tagged-address=lan=10.0.0.1:80"])).toEqual({
    code: 0,
    stdout: "Registered service: web\n",
    stderr: "",
  });
  const file = join(dir, "db.json");
  await writeFile(file, JSON.stringify({ services: [{ name: "db", id: "db1", port: 5432, check: { ttl: "30s" } }, { name: "cache", port: 6379 }] }));
  expect(await cli(["services", "register", "-tag=from-flag", file])).toEqual({
    code: 0,
    stdout: "Registered service: db\nRegistered service: cache\n",
    stderr: "",
  });
  // The same from an HCL file, as Consul's docs write service definitions.
  const hcl = join(dir, "queue.hcl");
  await writeFile(hcl, 'service {\n  name = "queue"\n  id   = "queue1"\n  port = 5672\n  tags = ["amqp"]\n  check {\n    ttl = "30s"\n  }\n}\n');
  expect(await cli(["services", "register", hcl])).toEqual({ code: 0, stdout: "Registered service: queue\n", stderr: "" });
  expect(await cli(["services", "deregister", hcl])).toEqual({ code: 0, stdout: "Deregistered service: queue1\n", stderr: "" });
  const services = (await agent.get<Record<string, { Service: string; Tags: string[]; Meta: Record<string, string>; TaggedAddresses?: unknown }>>("/v1/agent/services")).body;
  expect(Object.keys(services).sort()).toEqual(["cache", "db1", "web1"]);
  expect(services.web1).toMatchObject({ Tags: ["blue", "v2"], Meta: { team: "core" }, TaggedAddresses: { lan: { Address: "10.0.0.1", Port: 80 } } });
  expect(services.db1!.Tags).toEqual(["from-flag"]);
  expect(Object.keys((await agent.get<object>("/v1/agent/checks")).body)).toEqual(["service:db1"]);
  expect((await agent.get<unknown[]>("/v1/catalog/service/db")).body).toHaveLength(1);

  expect(await cli(["services", "deregister", "-id=web1"])).toEqual({ code: 0, stdout: "Deregistered service: web1\n", stderr: "" });
  expect(await cli(["services", "deregister", file])).toEqual({ code: 0, stdout: "Deregistered service: db1\nDeregistered service: cache\n", stderr: "" });
  expect((await agent.get("/v1/agent/services")).body).toEqual({});
});

test("services register refusals use Consul's texts", async () => {
  expect(await cli(["services", "register"])).toEqual({ code: 1, stdout: "", stderr: "Service registration requires at least one argument or flags.\n" });
  expect(await cli(["services", "deregister"])).toEqual({ code: 1, stdout: "", stderr: "Service deregistration requires at least one argument or -id.\n" });
  const bad = await cli(["services", "register", "-name=bad", "-meta=consul-x=1"]);
  expect(bad).toEqual({
    code: 1,
    stdout: "",
    stderr: 'Error registering service "bad": Unexpected response code: 400 (Invalid Service Meta: Key prefix \'consul-\' is reserved for internal use)\n',
  });
  const missing = await cli(["services", "deregister", "-id=ghost"]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain("Unexpected response code: 404 (Unknown service ID \"ghost\"");
});

test("maint enables, lists and disables node and service maintenance", async () => {
  await cli(["services", "register", "-name=api"]);
  expect(await cli(["maint", "-enable", "-reason", "patching"])).toEqual({ code: 0, stdout: "Node maintenance is now enabled\n", stderr: "" });
  expect(await cli(["maint", "-enable", "-service=api", "-reason=deploy"])).toEqual({
    code: 0,
    stdout: 'Service maintenance is now enabled for "api"\n',
    stderr: "",
  });
  const list = await cli(["maint"]);
  expect(list.code).toBe(0);
  expect(list.stdout).toContain("Node:\n  Name:   cli-e2e\n  Reason: patching\n\n");
  expect(list.stdout).toContain("Service:\n  ID:     api\n  Reason: deploy\n\n");
  expect((await agent.get<unknown[]>("/v1/health/service/api?passing")).body).toEqual([]);
  expect(await cli(["maint", "-disable", "-service=api"])).toEqual({ code: 0, stdout: 'Service maintenance is now disabled for "api"\n', stderr: "" });
  expect(await cli(["maint", "-disable"])).toEqual({ code: 0, stdout: "Node maintenance is now disabled\n", stderr: "" });
  expect((await cli(["maint"])).stdout).toBe("");
  expect(await cli(["maint", "-enable", "-disable"])).toMatchObject({ code: 1, stderr: "Only one of -enable or -disable may be provided\n" });
  expect(await cli(["maint", "-reason=x"])).toMatchObject({ code: 1, stderr: "Reason may only be provided with -enable\n" });
  const unknown = await cli(["maint", "-enable", "-service=nope"]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toBe('Error enabling service maintenance: Unexpected response code: 404 (No service registered with ID "nope")\n');
  await cli(["services", "deregister", "-id=api"]);
});

test("event fires and prints the ID; the agent lists it", async () => {
  const fired = await cli(["event", "-name=deploy", "v1.2"]);
  expect(fired.code).toBe(0);
  const id = /^Event ID: ([0-9a-f-]{36})\n$/.exec(fired.stdout)?.[1];
  expect(id).toBeDefined();
  const list = (await agent.get<{ ID: string; Name: string; Payload: string }[]>("/v1/event/list?name=deploy")).body;
  expect(list.at(-1)).toMatchObject({ ID: id, Name: "deploy", Payload: btoa("v1.2") });
  expect(await cli(["event"])).toMatchObject({ code: 1 });
  expect((await cli(["event"])).stderr).toStartWith("Event name must be specified\n\n");
  expect(await cli(["event", "-name=x", "-tag=a"])).toMatchObject({ code: 1, stderr: "Cannot provide tag filter without service filter.\n" });
});

test("watch -type=key runs the handler with the key's JSON on each change; SIGTERM ends it cleanly", async () => {
  const out = join(dir, "watch-key.out");
  const run = startCli(["watch", "-type=key", "-key=cfg/flag", `cat >> ${out}; echo >> ${out}; echo "index=$CONSUL_INDEX" >> ${out}`], {
    address: `127.0.0.1:${agent.port}`,
  });
  const lines = async () => (await readFile(out, "utf8").catch(() => "")).split("\n").filter((l) => l !== "");
  // The key does not exist yet: the first run gets null.
  await waitUntil(async () => (await lines()).length >= 2, 10_000, "the first handler run");
  expect((await lines())[0]).toBe("null");
  await agent.put("/v1/kv/cfg/flag", "on");
  await waitUntil(async () => (await lines()).length >= 4, 10_000, "the handler to run after the change");
  const [, , pair, index] = await lines();
  expect(JSON.parse(pair!)).toMatchObject({ Key: "cfg/flag", Value: btoa("on"), Flags: 0, Session: "", LockIndex: 0 });
  expect(index).toBe(`index=${JSON.parse(pair!).ModifyIndex}`);
  // A write to another key does not run the handler.
  await agent.put("/v1/kv/other", "x");
  await Bun.sleep(300);
  expect(await lines()).toHaveLength(4);
  run.kill("SIGTERM");
  expect((await run.done).code).toBe(0);
}, 30_000);

test("watch without a handler prints the view once, indented, and exits", async () => {
  await agent.put("/v1/kv/print/me", "hello");
  const res = await cli(["watch", "-type=keyprefix", "-prefix=print/"]);
  expect(res.code).toBe(0);
  expect(res.stdout).toStartWith('[\n    {\n        "Key": "print/me",\n');
  expect(JSON.parse(res.stdout)[0].Value).toBe(btoa("hello"));
  expect(await cli(["watch", "-type=services", "-key=x"])).toEqual({ code: 1, stdout: "", stderr: "Invalid parameters: [key]\n" });
  expect(await cli(["watch", "-type=nope"])).toEqual({ code: 1, stdout: "", stderr: "Unsupported watch type: nope\n" });
  expect((await cli(["watch"])).stderr).toStartWith("Watch type must be specified\n");
});

test("watch -type=event hands only new events to the handler", async () => {
  const out = join(dir, "watch-event.out");
  const run = startCli(["watch", "-type=event", "-name=ping", `cat >> ${out}; echo >> ${out}`], { address: `127.0.0.1:${agent.port}` });
  const runs = async () => (await readFile(out, "utf8").catch(() => "")).split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { Name: string; Payload: string }[]);
  await waitUntil(async () => (await runs()).length >= 1, 10_000, "the first handler run");
  expect((await runs())[0]).toEqual([]);
  await cli(["event", "-name=ping", "one"]);
  await waitUntil(async () => (await runs()).length >= 2, 10_000, "a run for the first event");
  await cli(["event", "-name=ping", "two"]);
  await waitUntil(async () => (await runs()).length >= 3, 10_000, "a run for the second event");
  const all = await runs();
  expect(all[1]!.map((e) => atob(e.Payload))).toEqual(["one"]);
  expect(all[2]!.map((e) => atob(e.Payload))).toEqual(["two"]);
  run.kill("SIGINT");
  expect((await run.done).code).toBe(0);
}, 30_000);

test("reload re-reads the config files; leave shuts the agent down", async () => {
  const a = await startLocalAgent(["-dev", "-node", "cli-reload"], { services: [{ name: "from-config" }] });
  const address = `127.0.0.1:${a.port}`;
  expect(Object.keys((await a.get<object>("/v1/agent/services")).body)).toEqual(["from-config"]);
  await writeFile(join(a.dir, "config.json"), JSON.stringify({ services: [{ name: "reloaded" }] }));
  expect(await cli(["reload"], address)).toEqual({ code: 0, stdout: "Configuration reload triggered\n", stderr: "" });
  expect(Object.keys((await a.get<object>("/v1/agent/services")).body)).toEqual(["reloaded"]);
  expect(await cli(["leave"], address)).toEqual({ code: 0, stdout: "Graceful leave complete\n", stderr: "" });
  await waitUntil(() => a.child.exitCode !== null, 10_000, "the agent to exit");
  expect(a.child.exitCode).toBe(0);
  expect(a.output()).toContain("Graceful shutdown complete");
}, 30_000);
