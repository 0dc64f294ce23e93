/** Every failing command leaves the state byte for byte as it was, and wakes no watcher. */
import { expect, test } from "bun:test";
import { type Command, kvKeyTopic, kvPrefixTopic, serviceTopic, StateStore, Topic } from "../../src/state/mod.ts";
import {
  check,
  createSession,
  expectUnchanged,
  kvCmd,
  kvOp,
  register,
  registerCmd,
  registration,
  service,
  sessionBody,
  sessionCreateCmd,
  set,
  spy,
  stateText,
  txnCmd,
} from "./helpers.ts";

const S1 = "11111111-1111-1111-1111-111111111111";

/** A store with something in every table and several rows per table. */
function richStore(): StateStore {
  const store = new StateStore();
  register(store, 1, registration("n1", { ID: "aaaaaaaa-0000-0000-0000-000000000001", Service: service("web1", "web"), Checks: [check("n1", "serfHealth"), check("n1", "wc", { ServiceID: "web1" })] }));
  register(store, 2, registration("n2", { Service: service("db1", "db"), Checks: [check("n2", "serfHealth")] }));
  createSession(store, 3, sessionBody(S1, "n1", { NodeChecks: ["serfHealth"], ServiceChecks: [{ ID: "wc", Namespace: "" }] }));
  set(store, 4, "a", "1");
  set(store, 5, "b/c", "2");
  store.apply(6, kvCmd("lock", "lock", { value: "L", session: S1 }));
  set(store, 7, "z", "3");
  store.apply(8, kvCmd("delete", "z"));
  return store;
}

const everything = [
  kvKeyTopic("a"),
  kvKeyTopic("lock"),
  kvPrefixTopic(""),
  kvPrefixTopic("b/"),
  serviceTopic("web"),
  serviceTopic("db"),
  Topic.Nodes,
  Topic.Services,
  Topic.Checks,
  Topic.Sessions,
];

const failing: [string, Command][] = [
  ["lock with an unknown session", kvCmd("lock", "a", { value: "x", session: "nope" })],
  ["lock without a session", kvCmd("lock", "a", { value: "x" })],
  ["session on a missing node", sessionCreateCmd(sessionBody("s2", "ghost"))],
  ["session naming a missing check", sessionCreateCmd(sessionBody("s2", "n2", { NodeChecks: ["nope"] }))],
  ["duplicate session id", sessionCreateCmd(sessionBody(S1, "n1"))],
  [
    "new node whose check names a missing service",
    registerCmd(registration("n3", { Service: service("x1", "x"), Checks: [check("n3", "ok"), check("n3", "bad", { ServiceID: "nope" })] })),
  ],
  [
    "node change, service change and a critical check before a failing check",
    registerCmd(
      registration("n1", {
        ID: "aaaaaaaa-0000-0000-0000-000000000001",
        Address: "10.1.1.1",
        Service: service("web1", "web", { Port: 99 }),
        Checks: [check("n1", "serfHealth", { Status: "critical" }), check("n1", "bad", { ServiceID: "nope" })],
      }),
    ),
  ],
  ["a node ID that aliases another node", registerCmd(registration("n2", { ID: "aaaaaaaa-0000-0000-0000-000000000001" }))],
  [
    "txn deleting the oldest rows before a failing op",
    txnCmd([kvOp("delete", "a"), kvOp("delete-tree", ""), kvOp("set", "a", { value: "new" }), kvOp("get", "missing")]),
  ],
  [
    "txn whose node delete invalidates a session, then fails",
    txnCmd([{ Node: { Verb: "delete", Node: registration("n1"), Index: 0 } }, kvOp("cas", "b/c", { index: 1, value: "x" })]),
  ],
  [
    "txn that creates and removes whole services, then fails",
    txnCmd([
      { Service: { Verb: "set", Node: "n2", Service: service("new1", "new"), Index: 0 } },
      { Service: { Verb: "delete", Node: "n2", Service: service("db1", "db"), Index: 0 } },
      { Check: { Verb: "delete", Check: check("n1", "wc"), Index: 0 } },
      { Check: { Verb: "set", Check: check("n1", "bad", { ServiceID: "nope" }), Index: 0 } },
    ]),
  ],
  ["unknown command type", { Type: 99, Now: 0 } as unknown as Command],
];

for (const [name, cmd] of failing) {
  test(`nothing half-applied: ${name}`, async () => {
    const store = richStore();
    const fired = spy(store.hub, everything);
    const r = expectUnchanged(store, 9, cmd);
    const rolledBack = r.ok && typeof r.value === "object" && r.value !== null && r.value.errors.length > 0;
    expect(!r.ok || rolledBack).toBe(true);
    expect(await fired()).toEqual([]);
  });
}

test("an index at or below the last applied is refused before anything runs", () => {
  const store = richStore();
  const before = stateText(store);
  expect(() => store.apply(8, kvCmd("set", "q", { value: "x" }))).toThrow(RangeError);
  expect(stateText(store)).toBe(before);
  expect(store.lastApplied).toBe(8);
});

test("a failed command still consumes its index", () => {
  const store = richStore();
  store.apply(9, kvCmd("lock", "a", { value: "x", session: "nope" }));
  expect(store.lastApplied).toBe(9);
  expect(() => store.apply(9, kvCmd("set", "q", { value: "x" }))).toThrow(RangeError);
});
