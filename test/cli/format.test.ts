import { expect, test } from "bun:test";
import type { AgentMember, KVPair, Node } from "../../src/api/mod.ts";
import { columnize } from "../../src/cli/format/columnize.ts";
import { tabwrite } from "../../src/cli/format/tabwriter.ts";
import { prettyKVPair } from "../../src/cli/kv/get.ts";
import { formatNodes, mapToKV } from "../../src/cli/catalog/nodes.ts";
import { compareMembers, detailedOutput, memberAddress, normalizeMembers, standardOutput } from "../../src/cli/members.ts";
import { prettyVersion } from "../../src/cli/version.ts";
import pkg from "../../package.json" with { type: "json" };

test("columnize pads every column but the last to its widest cell, two spaces apart", () => {
  const text = columnize(["Node\x1fAddress\x1fDC", "a-long-node\x1f10.0.0.1\x1fdc1", " b \x1f\x1fdc22"]);
  expect(text).toBe(["Node         Address   DC", "a-long-node  10.0.0.1  dc1", "b                      dc22"].join("\n"));
});

test("tabwriter aligns a column block to widest cell plus 6, leaving the last cell unpadded", () => {
  expect(tabwrite("a\tx\nlonger\ty\n")).toBe("a           x\nlonger      y\n");
  // A line without a tab ends the block: the next block gets its own width.
  expect(tabwrite("ab\t1\nplain\nc\t2")).toBe("ab      1\nplain\nc      2");
});

test("kv get -detailed layout matches Consul's", () => {
  const pair: KVPair = {
    Key: "foo",
    CreateIndex: 5,
    ModifyIndex: 12,
    LockIndex: 0,
    Flags: 3304740253564472344n,
    Value: new TextEncoder().encode("bar"),
  };
  expect(prettyKVPair(pair, false)).toBe(
    [
      "CreateIndex      5",
      "Flags            3304740253564472344",
      "Key              foo",
      "LockIndex        0",
      "ModifyIndex      12",
      "Session          -",
      "Value            bar",
    ].join("\n"),
  );
  expect(prettyKVPair({ ...pair, Session: "abc" }, true)).toContain("Session          abc\nValue            YmFy");
});

const node = (name: string, id: string, meta: Record<string, string> = {}): Node => ({
  ID: id,
  Node: name,
  Address: "10.1.2.3",
  Datacenter: "dc1",
  TaggedAddresses: { wan: "1.2.3.4", lan: "10.1.2.3" },
  Meta: meta,
  CreateIndex: 1,
  ModifyIndex: 1,
});

test("catalog nodes shortens IDs to the first group, -detailed shows tagged addresses and meta", () => {
  const nodes = [node("web1", "41e4e2a0-1111-2222-3333-444444444444", { rack: "r1", az: "a" })];
  expect(formatNodes(nodes, false)).toBe("Node  ID        Address   DC\nweb1  41e4e2a0  10.1.2.3  dc1");
  expect(formatNodes(nodes, true)).toBe(
    [
      "Node  ID                                    Address   DC   TaggedAddresses            Meta",
      "web1  41e4e2a0-1111-2222-3333-444444444444  10.1.2.3  dc1  lan=10.1.2.3, wan=1.2.3.4  az=a, rack=r1",
    ].join("\n"),
  );
  expect(mapToKV(null, ", ")).toBe("");
});

const member = (name: string, tags: Record<string, string>, status = 1, addr = "127.0.0.1"): AgentMember => ({
  Name: name,
  Addr: addr,
  Port: 8301,
  Tags: tags,
  Status: status,
  ProtocolMin: 1,
  ProtocolMax: 5,
  ProtocolCur: 2,
  DelegateMin: 2,
  DelegateMax: 5,
  DelegateCur: 4,
});

test("members: servers first, default partition and <all>/<default> segments filled in", () => {
  const raw = [
    member("zeta", { role: "node", dc: "dc1", build: "1.2.3:abcdef", vsn: "2" }),
    member("alpha", { role: "node", dc: "dc1", build: "1.2.3", vsn: "2" }, 4),
    member("srv", { role: "consul", dc: "dc1", build: "0.1.0", vsn: "2" }),
  ];
  const shown = normalizeMembers(raw, "_all").sort(compareMembers);
  expect(shown.map((m) => m.Name)).toEqual(["srv", "alpha", "zeta"]);
  expect(standardOutput(shown)).toBe(
    [
      "Node   Address         Status  Type    Build  Protocol  DC   Partition  Segment",
      "srv    127.0.0.1:8301  alive   server  0.1.0  2         dc1  default    <all>",
      "alpha  127.0.0.1:8301  failed  client  1.2.3  2         dc1  default    <default>",
      "zeta   127.0.0.1:8301  alive   client  1.2.3  2         dc1  default    <default>",
    ].join("\n"),
  );
  expect(detailedOutput(shown.slice(0, 1))).toBe(
    "Node  Address         Status  Tags\nsrv   127.0.0.1:8301  alive   ap=default,build=0.1.0,dc=dc1,role=consul,segment=<all>,vsn=2",
  );
});

test("members: unknown roles and IPv6 addresses print as Consul does", () => {
  expect(memberAddress(member("x", {}, 1, "::1"))).toBe("[::1]:8301");
  const out = standardOutput(normalizeMembers([member("x", {})], "_all"));
  // columnize pads the empty Build..Partition cells and keeps the trailing spaces, as Go's does.
  expect(out.split("\n")[1]).toBe(`x     127.0.0.1:8301  alive   unknown${" ".repeat(34)}`);
});

test("version prints the package version and the protocol line", () => {
  expect(prettyVersion()).toBe(
    `Consulate v${pkg.version}\nProtocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)\n`,
  );
});
