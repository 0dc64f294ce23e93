/** A write fires the topics of what it changed, and only those. */
import { expect, test } from "bun:test";
import { kvKeyTopic as key, kvPrefixTopic as prefix, nodeTopic, serviceTopic as svc, StateStore, Topic, WatchHub } from "../../src/state/mod.ts";
import {
  check,
  createSession,
  deregisterCmd,
  kvCmd,
  kvOp,
  register,
  registration,
  service,
  sessionBody,
  sessionDestroyCmd,
  set,
  spy,
  txnCmd,
} from "./helpers.ts";

const S1 = "11111111-1111-1111-1111-111111111111";

function store(): StateStore {
  const s = new StateStore();
  register(s, 1, registration("n1", { Service: service("web1", "web"), Checks: [check("n1", "serfHealth"), check("n1", "wc", { ServiceID: "web1" })] }));
  register(s, 2, registration("n2", { Service: service("db1", "db"), Checks: [check("n2", "serfHealth")] }));
  createSession(s, 3, sessionBody(S1, "n1", { NodeChecks: ["serfHealth"] }));
  set(s, 4, "a/b/c", "1");
  set(s, 5, "a/x", "2");
  set(s, 6, "other", "3");
  return s;
}

const KV_TOPICS = [key("a/b/c"), key("a/b"), key("a/x"), key("other"), prefix(""), prefix("a"), prefix("a/"), prefix("a/b/"), prefix("a/b/c"), prefix("a/x"), prefix("o"), prefix("b")];
const CATALOG_TOPICS = [svc("web"), svc("db"), nodeTopic("n1"), nodeTopic("n2"), Topic.Nodes, Topic.Services, Topic.Checks, Topic.Sessions];
const ALL = [...KV_TOPICS, ...CATALOG_TOPICS];

test("a KV set fires the key and every watched prefix above it", async () => {
  const s = store();
  const fired = spy(s.hub, ALL);
  set(s, 7, "a/b/c", "changed");
  expect(await fired()).toEqual([key("a/b/c"), prefix(""), prefix("a"), prefix("a/"), prefix("a/b/"), prefix("a/b/c")]);
});

test("an unchanged set and a failed cas fire nothing", async () => {
  const s = store();
  const fired = spy(s.hub, ALL);
  set(s, 7, "a/b/c", "1");
  expect(s.apply(8, kvCmd("cas", "a/x", { value: "q", index: 1 }))).toEqual({ ok: true, value: false });
  expect(await fired()).toEqual([]);
});

test("delete-tree fires each deleted key and their prefixes", async () => {
  const s = store();
  const fired = spy(s.hub, ALL);
  s.apply(7, kvCmd("delete-tree", "a/b"));
  expect(await fired()).toEqual([key("a/b/c"), prefix(""), prefix("a"), prefix("a/"), prefix("a/b/"), prefix("a/b/c")]);
});

test("a rolled-back transaction fires nothing", async () => {
  const s = store();
  const fired = spy(s.hub, ALL);
  const r = s.apply(7, txnCmd([kvOp("set", "a/x", { value: "9" }), kvOp("delete", "other"), kvOp("get", "missing")]));
  expect(r.ok && r.value !== null && typeof r.value === "object" && r.value.errors.length).toBe(1);
  expect(await fired()).toEqual([]);
});

test("registering an instance fires its service, not others", async () => {
  const s = store();
  const fired = spy(s.hub, ALL);
  register(s, 7, registration("n2", { Service: service("web2", "web") }));
  expect(await fired()).toEqual([svc("web"), nodeTopic("n2"), Topic.Services]);
});

test("a service check change fires that service only", async () => {
  const s = store();
  const fired = spy(s.hub, ALL);
  register(s, 7, registration("n1", { Checks: [check("n1", "wc", { ServiceID: "web1", Status: "warning" })] }));
  expect(await fired()).toEqual([svc("web"), nodeTopic("n1"), Topic.Checks]);
});

test("a node check turning critical fires the node's services and the sessions it invalidates", async () => {
  const s = store();
  s.apply(7, kvCmd("lock", "a/x", { value: "2", session: S1 }));
  const fired = spy(s.hub, ALL);
  register(s, 8, registration("n1", { Checks: [check("n1", "serfHealth", { Status: "critical" })] }));
  expect(await fired()).toEqual([key("a/x"), prefix(""), prefix("a"), prefix("a/"), prefix("a/x"), svc("web"), nodeTopic("n1"), Topic.Checks, Topic.Sessions]);
});

test("destroying a session fires the keys it held and the sessions topic", async () => {
  const s = store();
  s.apply(7, kvCmd("lock", "other", { value: "3", session: S1 }));
  const fired = spy(s.hub, ALL);
  s.apply(8, sessionDestroyCmd(S1));
  expect(await fired()).toEqual([key("other"), prefix(""), prefix("o"), Topic.Sessions]);
});

test("deregistering a node fires its services, node topics and sessions", async () => {
  const s = store();
  const fired = spy(s.hub, ALL);
  s.apply(7, deregisterCmd("n1"));
  expect(await fired()).toEqual([svc("web"), nodeTopic("n1"), Topic.Nodes, Topic.Services, Topic.Checks, Topic.Sessions]);
});

test("one promise per topic, however many waiters", async () => {
  const hub = new WatchHub();
  const a = hub.wait("t");
  const b = hub.wait("t");
  expect(a).toBe(b);
  expect(hub.watchedTopics).toBe(1);
  hub.fire("t");
  await a;
  expect(hub.watchedTopics).toBe(0);
  expect(hub.wait("t")).not.toBe(a);
});
