/** keygen, keyring, join and force-leave: what they check and print without an agent. */
import { expect, test } from "bun:test";
import { formatKeyring } from "../../src/cli/keyring.ts";
import { runCli } from "../../src/cli/run.ts";
import { memoryIo } from "./memory_io.ts";

async function run(args: string[]) {
  const io = memoryIo();
  const code = await runCli(args, io);
  return { code, out: io.stdoutText(), err: io.stderrText() };
}

test("keygen prints a fresh 32-byte key in standard base64", async () => {
  const a = await run(["keygen"]);
  const b = await run(["keygen"]);
  expect(a.code).toBe(0);
  const key = a.out.trim();
  expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  expect(atob(key).length).toBe(32);
  expect(b.out.trim()).not.toBe(key);
  expect((await run(["keygen", "extra"])).code).toBe(1);
});

test("keyring needs exactly one action and a relay factor of 0 to 5", async () => {
  const none = await run(["keyring"]);
  expect(none.code).toBe(1);
  expect(none.err).toContain("Usage: consulate keyring");
  const two = await run(["keyring", "-list", "-install", "abc"]);
  expect(two.code).toBe(1);
  expect(two.err).toContain("Only a single action is allowed");
  const relay = await run(["keyring", "-list", "-relay-factor", "6"]);
  expect(relay.code).toBe(1);
  expect(relay.err).toContain("Relay factor must be in range: [0, 5]");
  const local = await run(["keyring", "-install", "abc", "-local-only"]);
  expect(local.code).toBe(1);
});

test("keyring -list prints each ring, WAN first, with key counts out of the ring's members", () => {
  const lines = formatKeyring(
    [
      { WAN: true, Datacenter: "dc1", Segment: "", Messages: {}, Keys: { k1: 1 }, PrimaryKeys: { k1: 1 }, NumNodes: 1 },
      { WAN: false, Datacenter: "dc1", Segment: "", Messages: {}, Keys: { k1: 5, k2: 3 }, PrimaryKeys: { k1: 5 }, NumNodes: 5 },
    ],
    false,
  );
  expect(lines).toEqual(["", "WAN:", "  k1 [1/1]", "", "dc1 (LAN):", "  k1 [5/5]", "  k2 [3/5]"]);
  expect(formatKeyring([{ WAN: false, Datacenter: "dc2", Segment: "", Messages: {}, Keys: { a: 2, b: 2 }, PrimaryKeys: { a: 2 }, NumNodes: 2 }], true)).toEqual(["", "dc2 (LAN):", "  a [2/2]"]);
});

test("join and force-leave insist on their arguments", async () => {
  const join = await run(["join"]);
  expect(join.code).toBe(1);
  expect(join.err).toContain("At least one address to join must be specified.");
  const fl = await run(["force-leave"]);
  expect(fl.code).toBe(1);
  expect(fl.err).toContain("A single node name must be specified to force leave.");
  const unreachable = await run(["join", "-http-addr", "127.0.0.1:1", "10.0.0.1"]);
  expect(unreachable.code).toBe(1);
});
