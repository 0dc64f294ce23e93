/** `/v1/event/fire/:name` and `/v1/event/list`, including the IDToIndex blocking. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { type AgentHarness, startAgentHarness } from "./_agent_harness.ts";
import { NODE, sleep, track } from "./_harness.ts";

let h: AgentHarness;
beforeEach(async () => {
  h = await startAgentHarness();
});
afterEach(async () => {
  await h.stop();
});

interface Ev {
  ID: string;
  Name: string;
  Payload: string | null;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  LTime: number;
}

/** Consul's IDToIndex, computed independently of the server code. */
function idToIndex(id: string): string {
  const hex = id.replaceAll("-", "");
  return (BigInt(`0x${hex.slice(0, 16)}`) ^ BigInt(`0x${hex.slice(16)}`)).toString();
}

const fire = async (path: string, body?: string): Promise<Ev> => JSON.parse(await h.putOk(path, body)) as Ev;

test("fire answers the event (LTime 0); list shows it with its Lamport time and IDToIndex as X-Consul-Index", async () => {
  const empty = await h.get("/v1/event/list");
  expect(empty.headers.get("X-Consul-Index")).toBe("1");
  expect(await empty.json()).toEqual([]);

  const ev = await fire("/v1/event/fire/deploy", "v1.2.3");
  expect(ev).toEqual({
    ID: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
    Name: "deploy",
    Payload: btoa("v1.2.3"),
    NodeFilter: "",
    ServiceFilter: "",
    TagFilter: "",
    Version: 1,
    LTime: 0,
  });
  const res = await h.get("/v1/event/list");
  expect(res.headers.get("X-Consul-Index")).toBe(idToIndex(ev.ID));
  expect(await res.json()).toEqual([{ ...ev, LTime: 1 }]);

  const second = await fire("/v1/event/fire/restart");
  expect(second.Payload).toBeNull();
  const list = (await h.getJson<Ev[]>("/v1/event/list")).map((e) => [e.Name, e.LTime]);
  expect(list).toEqual([
    ["deploy", 1],
    ["restart", 2],
  ]);
  const named = await h.get("/v1/event/list?name=deploy");
  expect(named.headers.get("X-Consul-Index")).toBe(idToIndex(ev.ID));
  expect(((await named.json()) as Ev[]).map((e) => e.Name)).toEqual(["deploy"]);
});

test("a blocking list waits while the index is unchanged and wakes on a new event", async () => {
  const ev = await fire("/v1/event/fire/a");
  const index = idToIndex(ev.ID);
  // Indexes past 2^53 are taken exactly.
  const parked = track(h.get(`/v1/event/list?index=${index}&wait=10s`));
  await sleep(50);
  expect(parked.settled).toBe(false);
  const next = await fire("/v1/event/fire/b");
  const res = await parked.promise;
  expect(res.headers.get("X-Consul-Index")).toBe(idToIndex(next.ID));
  expect(((await res.json()) as Ev[]).map((e) => e.Name)).toEqual(["a", "b"]);

  const started = Date.now();
  const timedOut = await h.get(`/v1/event/list?index=${idToIndex(next.ID)}&wait=100ms`);
  expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  expect(timedOut.headers.get("X-Consul-Index")).toBe(idToIndex(next.ID));
  // A name filter that matches nothing answers index 1 at once.
  expect((await h.get(`/v1/event/list?name=zzz&index=${idToIndex(next.ID)}`)).headers.get("X-Consul-Index")).toBe("1");
});

test("filters: events not meant for this node or its services are not kept", async () => {
  await h.putOk("/v1/agent/service/register", { ID: "web1", Name: "web", Tags: ["blue"] });
  await fire(`/v1/event/fire/n1?node=^${NODE}$`);
  await fire("/v1/event/fire/n2?node=other-node");
  await fire("/v1/event/fire/s1?service=web");
  await fire("/v1/event/fire/s2?service=db");
  await fire("/v1/event/fire/t1?service=web&tag=bl");
  const t2 = await fire("/v1/event/fire/t2?service=web&tag=green");
  expect(t2).toMatchObject({ ServiceFilter: "web", TagFilter: "green" });
  expect((await h.getJson<Ev[]>("/v1/event/list")).map((e) => e.Name)).toEqual(["n1", "s1", "t1"]);
});

test("refusals: missing name, tag without service, bad regexp, too large, bad index", async () => {
  const noName = await h.put("/v1/event/fire/");
  expect([noName.status, await noName.text()]).toEqual([400, "Missing name"]);
  const tag = await h.put("/v1/event/fire/x?tag=a");
  expect([tag.status, await tag.text()]).toEqual([500, "Cannot provide tag filter without service filter"]);
  const re = await h.put("/v1/event/fire/x?node=(");
  expect(re.status).toBe(500);
  expect(await re.text()).toStartWith("Invalid node filter: error parsing regexp: missing closing )");
  const big = await h.put("/v1/event/fire/x", "p".repeat(600));
  expect([big.status, await big.text()]).toEqual([500, "user event exceeds configured limit of 512 bytes before encoding"]);
  // A payload that fits before encoding can still be too large once wrapped for gossip.
  const wrapped = await h.put("/v1/event/fire/x", "p".repeat(420));
  expect([wrapped.status, await wrapped.text()]).toEqual([500, "encoded user event exceeds configured limit of 512 bytes after encoding"]);
  expect((await h.put("/v1/event/fire/x", "p".repeat(300))).status).toBe(200);
  const dc = await h.put("/v1/event/fire/x?dc=elsewhere");
  expect([dc.status, await dc.text()]).toEqual([500, "No path to datacenter"]);
  const idx = await h.get("/v1/event/list?index=abc");
  expect([idx.status, await idx.text()]).toEqual([400, "Invalid index"]);
  const wait = await h.get("/v1/event/list?index=5&wait=soon");
  expect([wait.status, await wait.text()]).toEqual([400, "Invalid wait time"]);
  expect((await h.getJson<Ev[]>("/v1/event/list")).map((e) => e.Name)).toEqual(["x"]);
});

test("the agent keeps the last 256 events", async () => {
  for (let i = 0; i < 260; i++) await fire(`/v1/event/fire/e${i}`);
  const list = await h.getJson<Ev[]>("/v1/event/list");
  expect(list).toHaveLength(256);
  expect(list[0]!.Name).toBe("e4");
  expect(list[255]).toMatchObject({ Name: "e259", LTime: 260 });
});
