/** `operator raft list-peers` output, in Consul's columns. */
import { expect, test } from "bun:test";
import { formatPeers } from "../../src/cli/operator/mod.ts";

test("one server without last indexes: Consul's six columns", () => {
  const out = formatPeers({
    Index: 1,
    Servers: [{ ID: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10", Node: "node1", Address: "127.0.0.1:8300", Leader: true, ProtocolVersion: "3", Voter: true }],
  });
  expect(out).toBe(
    [
      "Node   ID                                    Address         State   Voter  RaftProtocol",
      "node1  5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10  127.0.0.1:8300  leader  true   3",
    ].join("\n"),
  );
});

test("three servers with last indexes: commit index and how far each trails the leader", () => {
  const out = formatPeers({
    Index: 9,
    Servers: [
      { ID: "a", Node: "s1", Address: "10.0.0.1:8300", Leader: false, ProtocolVersion: "3", Voter: true, LastIndex: 100 },
      { ID: "b", Node: "s2", Address: "10.0.0.2:8300", Leader: true, ProtocolVersion: "3", Voter: true, LastIndex: 105 },
      { ID: "c", Node: "s3", Address: "10.0.0.3:8300", Leader: false, ProtocolVersion: "", Voter: false, LastIndex: 104 },
    ],
  });
  expect(out.split("\n")).toEqual([
    "Node  ID  Address        State     Voter  RaftProtocol  Commit Index  Trails Leader By",
    "s1    a   10.0.0.1:8300  follower  true   3             100           5 Commits",
    "s2    b   10.0.0.2:8300  leader    true   3             105           _",
    "s3    c   10.0.0.3:8300  follower  false  <=1           104           1 Commit",
  ]);
});
