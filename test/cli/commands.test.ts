/** Command behaviour that needs no agent: argument checks, messages, exit codes. */
import { expect, test } from "bun:test";
import { runCli } from "../../src/cli/run.ts";
import { parseEntries } from "../../src/cli/kv/impexp.ts";
import { freePort } from "../api/harness.ts";
import { memoryIo } from "./memory_io.ts";

async function run(args: string[], opts: Parameters<typeof memoryIo>[0] = {}) {
  const io = memoryIo(opts);
  const code = await runCli(args, io);
  return { code, out: io.stdoutText(), err: io.stderrText() };
}

test("no command and unknown commands print usage on stderr and exit 1", async () => {
  const none = await run([]);
  expect(none.code).toBe(1);
  expect(none.err).toContain("Usage: consulate [--version] [--help] <command> [<args>]");
  expect(none.err).toContain("    kv ");
  const bogus = await run(["frobnicate"]);
  expect(bogus.code).toBe(1);
  expect(bogus.err).toContain("Unknown command: frobnicate");
  expect(bogus.out).toBe("");
  const help = await run(["--help"]);
  expect(help.code).toBe(0);
  expect(help.out).toContain("Available commands are:");
});

test("a bare group command prints its subcommands and exits 1", async () => {
  const r = await run(["kv"]);
  expect(r.code).toBe(1);
  for (const sub of ["delete", "export", "get", "import", "put"]) expect(r.err).toContain(`    ${sub} `);
  expect((await run(["catalog", "bogus"])).code).toBe(1);
});

test("unknown flags report Go's message and the usage", async () => {
  const r = await run(["kv", "get", "-bogus", "x"]);
  expect(r.code).toBe(1);
  expect(r.err.startsWith("flag provided but not defined: -bogus\n")).toBe(true);
  expect(r.err).toContain("Usage: consulate kv get");
  const h = await run(["kv", "get", "-h"]);
  expect(h.code).toBe(0);
  expect(h.out).toContain("-separator=<string>");
});

test("kv get and kv delete need a key unless working on a prefix", async () => {
  expect(await run(["kv", "get"])).toMatchObject({ code: 1, err: "Error! Missing KEY argument\n" });
  expect(await run(["kv", "get", "/"])).toMatchObject({ code: 1, err: "Error! Missing KEY argument\n" });
  expect(await run(["kv", "get", "a", "b"])).toMatchObject({ code: 1, err: "Too many arguments (expected 1, got 2)\n" });
  expect(await run(["kv", "delete"])).toMatchObject({ code: 1, err: "Error! Missing KEY argument\n" });
});

test("kv put validates its flag combinations before contacting the agent", async () => {
  expect(await run(["kv", "put"])).toMatchObject({ code: 1, err: "Error! Missing KEY argument\n" });
  expect(await run(["kv", "put", "a", "b", "c"])).toMatchObject({
    code: 1,
    err: "Error! Too many arguments (expected 1 or 2, got 3)\n",
  });
  expect(await run(["kv", "put", "-acquire", "k", "v"])).toMatchObject({
    code: 1,
    err: "Error! Missing -session (required with -acquire and -release)\n",
  });
  const b64 = await run(["kv", "put", "-base64", "k", "not*base64"]);
  expect(b64.code).toBe(1);
  expect(b64.err).toBe("Error! Cannot base 64 decode data: illegal base64 data at input byte 3\n");
  const file = await run(["kv", "put", "k", "@/no/such/file"]);
  expect(file).toMatchObject({ code: 1, err: "Error! Failed to read file: open /no/such/file: no such file or directory\n" });
});

test("kv delete rejects -cas without index, -modify-index without -cas, and -cas with -recurse", async () => {
  expect((await run(["kv", "delete", "-cas", "k"])).err).toBe(
    "Cannot delete a key that does not exist. Provide a -modify-index greater than than 0.\n",
  );
  expect((await run(["kv", "delete", "-modify-index=4", "k"])).err).toBe("Cannot specify -modify-index without -cas!\n");
  expect((await run(["kv", "delete", "-cas", "-modify-index=4", "-recurse", "k"])).err).toBe("Cannot specify both -cas and -recurse!\n");
});

test("kv import reports undecodable input", async () => {
  expect(await run(["kv", "import"])).toMatchObject({ code: 1, err: "Error! Missing DATA argument\n" });
  expect(await run(["kv", "import", ""])).toMatchObject({ code: 1, err: "Error! Empty DATA argument\n" });
  const obj = await run(["kv", "import", '{"key":"a"}']);
  expect(obj).toMatchObject({ code: 1, err: "Cannot unmarshal data: json: cannot unmarshal object into Go value of type []*impexp.Entry\n" });
  const b64 = await run(["kv", "import", '[{"key":"a","flags":0,"value":"@@@"}]']);
  expect(b64).toMatchObject({ code: 1, err: "Error base 64 decoding value for key a: illegal base64 data at input byte 0\n" });
});

test("kv import entries decode case-insensitively and keep uint64 flags exact", () => {
  const entries = parseEntries('[{"KEY":"a/","Flags":18446744073709551615,"value":"eA=="},{"key":"b","flags":1,"value":""}]');
  expect(entries).toEqual([
    { key: "a/", flags: 18446744073709551615n, value: "eA==" },
    { key: "b", flags: 1n, value: "" },
  ]);
  expect(() => parseEntries('[{"key":"a","flags":-1}]')).toThrow(
    "json: cannot unmarshal number -1 into Go struct field Entry.flags of type uint64",
  );
  expect(() => parseEntries('[{"key":1}]')).toThrow("json: cannot unmarshal number into Go struct field Entry.key of type string");
});

test("a bad address or an unreachable agent is reported like Consul", async () => {
  const bad = await run(["kv", "get", "-http-addr=ftp://127.0.0.1:1", "k"]);
  expect(bad).toMatchObject({ code: 1, err: "Error connecting to Consul agent: Unknown protocol scheme: ftp\n" });
  const port = await freePort();
  const down = await run(["kv", "get", "k"], { env: { CONSUL_HTTP_ADDR: `127.0.0.1:${port}` } });
  expect(down.code).toBe(1);
  expect(down.err).toBe(
    `Error querying Consul agent: Get "http://127.0.0.1:${port}/v1/kv/k": connect: connection refused\n` +
      `Is an agent running at 127.0.0.1:${port}? Start one with "consulate agent -dev", or point the CLI at yours with -http-addr or CONSUL_HTTP_ADDR.\n`,
  );
  const members = await run(["members", `-http-addr=http://127.0.0.1:${port}`]);
  expect(members.code).toBe(1);
  expect(members.err.startsWith("Error retrieving members: Get ")).toBe(true);
});

test("lock checks its arguments first", async () => {
  expect(await run(["lock", "-n=0", "p", "true"])).toMatchObject({ code: 1, err: "Lock holder limit must be positive\n" });
  expect(await run(["lock", "p"])).toMatchObject({ code: 1, err: "Key prefix and child command must be specified\n" });
  expect(await run(["lock", "-monitor-retry=-1", "p", "true"])).toMatchObject({
    code: 1,
    err: "Number for 'monitor-retry' must be >= 0\n",
  });
});

test("members rejects a status regexp that does not compile", async () => {
  const r = await run(["members", "-status=("]);
  expect(r.code).toBe(1);
  expect(r.err.startsWith("Failed to compile status regexp: ")).toBe(true);
});

test("version: pretty by default, JSON on request, error on unknown format", async () => {
  const pretty = await run(["version"]);
  expect(pretty.code).toBe(0);
  expect(pretty.out).toMatch(/^Consulate v\d+\.\d+\.\d+/);
  expect((await run(["-v"])).out).toBe(pretty.out);
  const json = await run(["version", "-format=json"]);
  expect(JSON.parse(json.out)).toMatchObject({ RPC: { Default: 2, Min: 2, Max: 3 } });
  expect(await run(["version", "-format=xml"])).toMatchObject({ code: 1, err: "Unknown format: xml\n" });
});
