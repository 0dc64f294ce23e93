/**
 * Network coordinates end to end through the /v1 API: updates batched by the
 * server into CoordinateBatchUpdate entries, the coordinate endpoints, ?near=
 * sorting on the catalog and health endpoints, snapshots, and `consulate rtt`.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { runCli } from "../../src/cli/run.ts";
import { serveHttp, type HttpListener } from "../../src/runtime/serve.ts";
import { MessageType } from "../../src/state/mod.ts";
import type { Coordinate } from "../../src/structs/coordinate.ts";
import { memoryIo } from "../cli/memory_io.ts";
import { type Harness, index, NODE, register, startHarness } from "./_harness.ts";

/** lib.GenerateCoordinate: `rttMs` from the origin along the first axis, no height. */
function at(rttMs: number): Coordinate {
  return { Vec: [rttMs / 1000, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0 };
}

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
});

async function node(name: string, service?: string): Promise<void> {
  await register(h, { Node: name, Address: `10.0.0.${name.length}`, ...(service ? { Service: { Service: service, Port: 80 } } : {}) });
}

async function update(name: string, c: Coordinate, segment = ""): Promise<Response> {
  return h.put("/v1/coordinate/update", { Node: name, Segment: segment, Coord: c });
}

/** Updates are batched: write what is pending now, as the period timer would. */
async function flush(): Promise<void> {
  await h.server.coordinates.flush();
}

describe("coordinate endpoints", () => {
  test("an update is held until the batch goes out, then /nodes and /node/:n serve it with the table index", async () => {
    await node("alpha");
    expect((await update("alpha", at(3))).status).toBe(200);
    expect(await h.getJson("/v1/coordinate/nodes")).toEqual([]);
    expect(h.server.coordinates.size).toBe(1);
    const before = h.server.state.lastApplied;
    await flush();
    expect(h.server.state.lastApplied).toBe(before + 1);
    const res = await h.get("/v1/coordinate/nodes");
    expect(index(res)).toBe(before + 1);
    expect(await res.json()).toEqual([{ Node: "alpha", Segment: "", Coord: at(3) }]);
    expect(await h.getJson("/v1/coordinate/node/alpha")).toEqual([{ Node: "alpha", Segment: "", Coord: at(3) }]);
    const missing = await h.get("/v1/coordinate/node/nobody");
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe("");
  });

  test("a blocking /v1/coordinate/nodes wakes when a batch lands", async () => {
    await node("alpha");
    await update("alpha", at(1));
    await flush();
    const first = await h.get("/v1/coordinate/nodes");
    const idx = index(first);
    let woke = false;
    const parked = h.get(`/v1/coordinate/nodes?index=${idx}&wait=5s`).then((r) => {
      woke = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(woke).toBe(false);
    await update("alpha", at(2));
    await flush();
    const res = await parked;
    expect(index(res)).toBeGreaterThan(idx);
    expect(((await res.json()) as { Coord: Coordinate }[])[0]!.Coord).toEqual(at(2));
  });

  test("segments are kept apart and ?segment= filters; the latest update per node and segment wins", async () => {
    await node("alpha");
    await node("beta");
    await update("beta", at(1));
    await update("alpha", at(1));
    await update("alpha", at(2));
    await update("alpha", at(7), "seg1");
    await flush();
    const all = await h.getJson<{ Node: string; Segment: string; Coord: Coordinate }[]>("/v1/coordinate/nodes");
    expect(all.map((c) => `${c.Node}/${c.Segment}/${c.Coord.Vec[0]! * 1000}`)).toEqual(["alpha//2", "alpha/seg1/7", "beta//1"]);
    expect((await h.getJson<unknown[]>("/v1/coordinate/nodes?segment=seg1")).length).toBe(1);
    expect((await h.getJson<unknown[]>("/v1/coordinate/nodes?segment=")).length).toBe(2);
    expect((await h.getJson<unknown[]>("/v1/coordinate/node/alpha")).length).toBe(2);
    expect((await h.get("/v1/coordinate/node/beta?segment=seg1")).status).toBe(404);
  });

  test("updates for nodes the catalog does not know are dropped; deleting a node drops its coordinates", async () => {
    await node("alpha");
    await update("ghost", at(1));
    await update("alpha", at(1));
    await flush();
    expect((await h.getJson<{ Node: string }[]>("/v1/coordinate/nodes")).map((c) => c.Node)).toEqual(["alpha"]);
    const res = await h.put("/v1/catalog/deregister", { Node: "alpha" });
    expect(res.status).toBe(200);
    const after = await h.get("/v1/coordinate/nodes");
    expect(await after.json()).toEqual([]);
    expect(index(after)).toBe(h.server.state.lastApplied);
  });

  test("bad updates: decode errors are 400, unusable coordinates Consul's 500s, nothing queued", async () => {
    const bad = await h.put("/v1/coordinate/update", "{not json");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toStartWith("Request decode failed:");
    const wrongType = await h.put("/v1/coordinate/update", { Node: "alpha", Coord: { Vec: ["x"] } });
    expect(wrongType.status).toBe(400);
    const huge = await h.put("/v1/coordinate/update", '{"Node":"alpha","Coord":{"Vec":[0,0,0,0,0,0,0,0],"Height":1e400}}');
    expect(huge.status).toBe(400);
    const short = await update("alpha", { Vec: [0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0 });
    expect(short.status).toBe(500);
    expect(await short.text()).toBe("incompatible coordinate");
    expect(h.server.coordinates.size).toBe(0);
    const rpc = (await import("../../src/rpc/mod.ts")).inProcessRpc(h.server);
    await expect(Promise.resolve().then(() => rpc.call("Coordinate.Update", { Node: "alpha", Segment: "", Coord: at(Number.NaN) }, { datacenter: "dc1", minIndex: 0, waitMs: 0, consistency: "default", maxStaleMs: 0 }))).rejects.toThrow("invalid coordinate");
    expect(h.server.coordinates.size).toBe(0);
  });

  test("datacenters: the local datacenter in the WAN area, with what the WAN pool knows", async () => {
    expect(await h.getJson("/v1/coordinate/datacenters")).toEqual([{ Datacenter: "dc1", AreaID: "wan", Coordinates: [] }]);
    h.server.coordinates.sources = { wan: () => [{ datacenter: "dc2", node: "s2", coord: at(40) }, { datacenter: "dc1", node: "node1", coord: at(0) }] };
    expect(await h.getJson("/v1/coordinate/datacenters")).toEqual([
      { Datacenter: "dc1", AreaID: "wan", Coordinates: [{ Node: "node1", Segment: "", Coord: at(0) }] },
      { Datacenter: "dc2", AreaID: "wan", Coordinates: [{ Node: "s2", Segment: "", Coord: at(40) }] },
    ]);
  });

  test("coordinates survive a snapshot and restore", async () => {
    await node("alpha");
    await update("alpha", at(5));
    await flush();
    const snap = h.server.state.snapshot();
    await h.put("/v1/catalog/deregister", { Node: "alpha" });
    expect(await h.getJson("/v1/coordinate/nodes")).toEqual([]);
    h.server.state.restore(snap);
    expect(await h.getJson("/v1/coordinate/nodes")).toEqual([{ Node: "alpha", Segment: "", Coord: at(5) }]);
  });
});

describe("server batching", () => {
  test("batches of batch size, at most batch size x max batches per period, the rest discarded", async () => {
    await h.stop();
    const { Server } = await import("../../src/server/mod.ts");
    const { MemoryLog } = await import("../../src/log/mod.ts");
    const { FakeClock } = await import("./_harness.ts");
    const clock = new FakeClock();
    const server = new Server({ datacenter: "dc1", nodeName: NODE, nodeId: "id", advertiseAddr: "10.0.0.1", serverPort: 8300, log: new MemoryLog(), clock, coordinates: { periodMs: 1000, batchSize: 4, maxBatches: 2 } });
    await server.start();
    const entries: number[] = [];
    const seen = server.state.apply.bind(server.state);
    server.state.apply = (i, cmd) => {
      if (cmd.Type === MessageType.CoordinateBatchUpdate) entries.push(cmd.Coordinates.length);
      return seen(i, cmd);
    };
    for (let i = 0; i < 11; i++) server.coordinates.add({ Node: `n${i}`, Segment: "", Coord: at(i) });
    server.coordinates.add({ Node: "n0", Segment: "", Coord: at(9) });
    expect(server.coordinates.size).toBe(11);
    clock.advance(999);
    expect(entries).toEqual([]);
    clock.advance(1);
    await server.coordinates.flush();
    await new Promise((r) => setTimeout(r, 10));
    expect(entries).toEqual([4, 4]);
    expect(server.coordinates.discarded).toBe(3);
    expect(server.coordinates.size).toBe(0);
    // The timer runs again each period.
    server.coordinates.add({ Node: "n1", Segment: "", Coord: at(1) });
    clock.advance(1000);
    await new Promise((r) => setTimeout(r, 10));
    expect(entries).toEqual([4, 4, 1]);
    await server.stop();
    expect(clock.pending).toBeLessThanOrEqual(1);
    h = await startHarness();
  });
});

describe("?near= sorting", () => {
  beforeEach(async () => {
    // node1 (the agent) at 0 ms; near at 2, mid at 5, far at 30; "lost" has no coordinate.
    for (const [name, ms] of [["far", 30], ["lost", -1], ["mid", 5], ["near", 2]] as const) {
      await node(name, "web");
      await register(h, { Node: name, Address: "10.0.0.9", Check: { CheckID: `chk-${name}`, Name: "c", Status: "passing" } });
      if (ms >= 0) await update(name, at(ms));
    }
    await update(NODE, at(0));
    await flush();
  });

  const names = (rows: { Node: string | { Node: string } }[]) => rows.map((r) => (typeof r.Node === "string" ? r.Node : r.Node.Node));

  test("catalog nodes and service instances, nearest first, nodes without coordinates last in their order", async () => {
    expect(names(await h.getJson("/v1/catalog/nodes"))).toEqual(["far", "lost", "mid", "near", NODE]);
    expect(names(await h.getJson("/v1/catalog/nodes?near=_agent"))).toEqual([NODE, "near", "mid", "far", "lost"]);
    expect(names(await h.getJson("/v1/catalog/nodes?near=far"))).toEqual(["far", "mid", "near", NODE, "lost"]);
    expect(names(await h.getJson("/v1/catalog/service/web?near=mid"))).toEqual(["mid", "near", "far", "lost"]);
    // No coordinate for the source: the order is left alone.
    expect(names(await h.getJson("/v1/catalog/service/web?near=lost"))).toEqual(["far", "lost", "mid", "near"]);
    expect(names(await h.getJson("/v1/catalog/service/web?near=unknown-node"))).toEqual(["far", "lost", "mid", "near"]);
  });

  test("health service, checks by service and by state, with filters applied after sorting", async () => {
    expect(names(await h.getJson("/v1/health/service/web?near=_agent"))).toEqual(["near", "mid", "far", "lost"]);
    expect(names(await h.getJson("/v1/health/service/web?near=_agent&filter=" + encodeURIComponent('Node.Node != "mid"')))).toEqual(["near", "far", "lost"]);
    const checks = await h.getJson<{ Node: string }[]>("/v1/health/state/passing?near=_agent");
    const order = [...new Set(checks.map((c) => c.Node))];
    expect(order).toEqual([NODE, "near", "mid", "far", "lost"]);
    await register(h, { Node: "near", Address: "10.0.0.9", Service: { Service: "web", Port: 80 }, Check: { CheckID: "svc", Name: "s", Status: "passing", ServiceID: "web" } });
    await register(h, { Node: "far", Address: "10.0.0.9", Service: { Service: "web", Port: 80 }, Check: { CheckID: "svc", Name: "s", Status: "passing", ServiceID: "web" } });
    expect((await h.getJson<{ Node: string }[]>("/v1/health/checks/web?near=far")).map((c) => c.Node)).toEqual(["far", "near"]);
  });

  test("a later coordinate moves a node", async () => {
    await update("lost", at(1));
    await flush();
    expect(names(await h.getJson("/v1/catalog/nodes?near=_agent"))).toEqual([NODE, "lost", "near", "mid", "far"]);
  });
});

describe("consulate rtt", () => {
  let http: HttpListener;
  beforeEach(async () => {
    http = await serveHttp({ hostname: "127.0.0.1", port: 0, fetch: (req) => h.app.fetch(req) });
    await node("alpha");
    await node("beta");
    await update("alpha", at(1.5));
    await update("beta", at(4));
    await update(NODE, { ...at(0), Height: 0.0001 });
    await flush();
  });
  afterEach(async () => {
    await http.stop();
  });

  async function rtt(...args: string[]) {
    const io = memoryIo({ env: { CONSUL_HTTP_ADDR: `127.0.0.1:${http.port}` } });
    const code = await runCli(["rtt", ...args], io);
    return { code, out: io.stdoutText(), err: io.stderrText() };
  }

  test("between two nodes, and from a node to the agent, with Consul's output", async () => {
    expect(await rtt("alpha", "beta")).toEqual({ code: 0, out: "Estimated alpha <-> beta rtt: 2.500 ms (using LAN coordinates)\n", err: "" });
    expect(await rtt("BETA")).toEqual({ code: 0, out: `Estimated BETA <-> ${NODE} rtt: 4.100 ms (using LAN coordinates)\n`, err: "" });
  });

  test("missing coordinates, wrong arguments and -wan names", async () => {
    await node("gamma");
    expect(await rtt("alpha", "gamma")).toEqual({ code: 1, out: "", err: 'Could not find a coordinate for node "gamma"\n' });
    expect(await rtt("nobody")).toEqual({ code: 1, out: "", err: 'Could not find a coordinate for node "nobody"\n' });
    const none = await rtt();
    expect(none.code).toBe(1);
    expect(none.err).toStartWith("One or two node names must be specified\n\n");
    expect(none.err).toContain("Usage: consulate rtt [options] node1 [node2]");
    expect((await rtt("a", "b", "c")).code).toBe(1);
    expect(await rtt("-wan", "alpha", "beta")).toEqual({ code: 1, out: "", err: "Node names must be specified as <node name>.<datacenter> with -wan\n" });
    expect(await rtt("-wan", "alpha.dc1")).toEqual({ code: 1, out: "", err: 'Could not find a coordinate for node "alpha.dc1"\n' });
    h.server.coordinates.sources = { wan: () => [{ datacenter: "dc1", node: NODE, coord: at(0) }, { datacenter: "dc2", node: "s2", coord: at(40) }] };
    expect(await rtt("-wan", "s2.dc2")).toEqual({ code: 0, out: `Estimated s2.dc2 <-> ${NODE}.dc1 rtt: 40.000 ms (using WAN coordinates)\n`, err: "" });
  });
});
