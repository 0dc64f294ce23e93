import { afterEach, beforeEach, expect, test } from "bun:test";
import { MemoryLog } from "../../src/log/mod.ts";
import { type MemberEventView, MemberReconciler, type MemberView, type MembershipSource } from "../../src/server/reconcile.ts";
import { Server } from "../../src/server/mod.ts";
import { FakeClock } from "../http/_harness.ts";

class FakePool implements MembershipSource {
  list: MemberView[] = [];
  private listeners = new Set<(e: MemberEventView) => void>();
  members(): MemberView[] {
    return this.list;
  }
  on(l: (e: MemberEventView) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  set(m: MemberView, type: string): void {
    this.list = [...this.list.filter((x) => x.Name !== m.Name), m];
    for (const l of this.listeners) l({ type, member: m });
  }
  reap(name: string): void {
    const m = this.list.find((x) => x.Name === name)!;
    this.list = this.list.filter((x) => x.Name !== name);
    for (const l of this.listeners) l({ type: "member-reap", member: m });
  }
}

const member = (name: string, status: MemberView["Status"], tags: Record<string, string> = {}, addr = "10.0.0.9"): MemberView => ({
  Name: name,
  Addr: addr,
  Port: 8301,
  Tags: { role: "node", dc: "dc1", id: `00000000-0000-0000-0000-${name.padStart(12, "0")}`, ...tags },
  Status: status,
});

let server: Server;
let pool: FakePool;
let rec: MemberReconciler;
let clock: FakeClock;

beforeEach(async () => {
  clock = new FakeClock();
  server = new Server({ datacenter: "dc1", nodeName: "srv", nodeId: crypto.randomUUID(), advertiseAddr: "127.0.0.1", serverPort: 8300, log: new MemoryLog(), clock });
  await server.start();
  pool = new FakePool();
  pool.list = [member("srv", "alive", { role: "consul", port: "8300" }, "127.0.0.1")];
  rec = new MemberReconciler(server, pool, { intervalMs: 60_000 });
});
afterEach(async () => {
  await rec.stop();
  await server.stop();
});

const serf = (node: string) => server.state.t.checks.get(`${node}\u0000serfHealth`);

test("alive members get a node and a passing serfHealth; servers also the consul service", async () => {
  pool.list.push(member("c1", "alive"), member("s2", "alive", { role: "consul", port: "8305" }, "10.0.0.2"));
  rec.start();
  await rec.idle();
  expect(serf("c1")?.Status).toBe("passing");
  expect(serf("c1")?.Output).toBe("Agent alive and reachable");
  expect(server.state.t.nodes.get("c1")?.Address).toBe("10.0.0.9");
  expect(server.state.t.services.get("s2\u0000consul")?.Service.Port).toBe(8305);
  expect(server.state.t.services.get("c1\u0000consul")).toBeUndefined();
  // A second pass with nothing new writes nothing.
  const idx = server.lastIndex();
  await rec.reconcileAll();
  expect(server.lastIndex()).toBe(idx);
});

test("failed turns serfHealth critical (services stay, now unhealthy); back alive, passing again", async () => {
  rec.start();
  pool.set(member("c1", "alive"), "member-join");
  await rec.idle();
  pool.set(member("c1", "failed"), "member-failed");
  await rec.idle();
  expect(serf("c1")?.Status).toBe("critical");
  expect(serf("c1")?.Output).toBe("Agent not live or unreachable");
  pool.set(member("c1", "alive"), "member-join");
  await rec.idle();
  expect(serf("c1")?.Status).toBe("passing");
});

test("left and reaped members are deregistered; the node's own fields from anti-entropy survive alive passes", async () => {
  rec.start();
  await server.mustWrite({
    Type: 0,
    Now: 0,
    Req: { ID: "00000000-0000-0000-0000-0000000000c1", Node: "c1", Address: "10.0.0.9", Datacenter: "dc1", TaggedAddresses: { lan: "10.0.0.9" }, NodeMeta: { rack: "r1" }, Service: null, Checks: [], SkipNodeUpdate: false },
  });
  pool.set(member("c1", "alive"), "member-join");
  await rec.idle();
  expect(server.state.t.nodes.get("c1")?.Meta).toEqual({ rack: "r1" });
  pool.set(member("c1", "left"), "member-leave");
  await rec.idle();
  expect(server.state.t.nodes.has("c1")).toBe(false);
  pool.set(member("c2", "failed"), "member-failed");
  await rec.idle();
  expect(serf("c2")?.Status).toBe("critical");
  pool.reap("c2");
  await rec.idle();
  expect(server.state.t.nodes.has("c2")).toBe(false);
});

test("a periodic pass removes catalog nodes with serfHealth that the pool forgot, but never the server itself or plain external nodes", async () => {
  rec.start();
  pool.set(member("ghost", "alive"), "member-join");
  await server.mustWrite({
    Type: 0,
    Now: 0,
    Req: { ID: "", Node: "external", Address: "1.2.3.4", Datacenter: "dc1", TaggedAddresses: {}, NodeMeta: {}, Service: null, Checks: [], SkipNodeUpdate: false },
  });
  await rec.idle();
  pool.list = pool.list.filter((m) => m.Name !== "ghost");
  clock.advance(60_000);
  await rec.idle();
  expect(server.state.t.nodes.has("ghost")).toBe(false);
  expect(server.state.t.nodes.has("external")).toBe(true);
  expect(server.state.t.nodes.has("srv")).toBe(true);
});

test("a follower does nothing", async () => {
  const follower = new MemberReconciler(server, pool, { isLeader: () => false });
  pool.list.push(member("c9", "alive"));
  follower.start();
  await follower.idle();
  expect(server.state.t.nodes.has("c9")).toBe(false);
  await follower.stop();
});
