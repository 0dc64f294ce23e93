/** `consulate intention` and `consulate config` as a user runs them, against a real dev agent. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../src/api/mod.ts";
import { runCliProcess, startTestAgent, type TestAgent } from "../api/harness.ts";

let agent: TestAgent;
let client: Client;
let dir: string;
const cli = (args: string[], stdin?: string) => runCliProcess(args, { address: agent.address, ...(stdin !== undefined ? { stdin } : {}) });

beforeAll(async () => {
  agent = await startTestAgent();
  client = new Client({ address: agent.address });
  dir = await mkdtemp(join(tmpdir(), "consulate-intent-"));
});

afterAll(async () => {
  await agent?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("config write (file and stdin), read, list, delete", async () => {
  const file = join(dir, "web.json");
  await writeFile(file, JSON.stringify({ Kind: "service-defaults", Name: "web", Protocol: "http" }));
  expect(await cli(["config", "write", file])).toEqual({ code: 0, stdout: "Config entry written: service-defaults/web\n", stderr: "" });
  expect(await cli(["config", "write", "-"], JSON.stringify({ kind: "service-defaults", name: "db", protocol: "http" }))).toMatchObject({
    code: 0,
    stdout: "Config entry written: service-defaults/db\n",
  });
  const read = await cli(["config", "read", "-kind", "service-defaults", "-name", "web"]);
  expect(read.code).toBe(0);
  expect(JSON.parse(read.stdout)).toMatchObject({ Kind: "service-defaults", Name: "web", Protocol: "http" });
  expect(read.stdout.startsWith('{\n    "Kind": "service-defaults"')).toBe(true);
  expect(await cli(["config", "list", "-kind", "service-defaults"])).toEqual({ code: 0, stdout: "db\nweb\n", stderr: "" });

  const bad = await cli(["config", "write", "-"], JSON.stringify({ Kind: "service-defaults", Name: "x", Bogus: 1 }));
  expect(bad.code).toBe(1);
  expect(bad.stderr).toBe('Error writing config entry service-defaults/x: Unexpected response code: 400 (Request decoding failed: 1 error occurred:\n\t* invalid config key "Bogus")\n');
  // HCL, as Consul's docs write it: HCL 1's nested blocks inside a list value included.
  expect(await cli(["config", "write", "-"], 'Kind = "service-defaults"\nName = "admin"\nProtocol = "http"\n')).toMatchObject({ code: 0, stdout: "Config entry written: service-defaults/admin\n" });
  const router = join(dir, "router.hcl");
  await writeFile(router, ['Kind = "service-router"', 'Name = "web"', "Routes = [", "  {", "    Match {", "      HTTP {", '        PathPrefix = "/admin"', "      }", "    }", "", "    Destination {", '      Service = "admin"', "    }", "  },", "]", ""].join("\n"));
  expect(await cli(["config", "write", router])).toEqual({ code: 0, stdout: "Config entry written: service-router/web\n", stderr: "" });
  const routed = JSON.parse((await cli(["config", "read", "-kind", "service-router", "-name", "web"])).stdout) as { Routes: { Match: { HTTP: { PathPrefix: string } }; Destination: { Service: string } }[] };
  expect(routed.Routes[0]).toMatchObject({ Match: { HTTP: { PathPrefix: "/admin" } }, Destination: { Service: "admin" } });
  const broken = join(dir, "broken.hcl");
  await writeFile(broken, 'Kind = "service-defaults"\nName = "x"\nProtocol = \n');
  const refused = await cli(["config", "write", broken]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toStartWith(`Failed to decode config entry input: ${broken}:3,`);
  expect(await cli(["config", "read", "-kind", "service-defaults"])).toMatchObject({ code: 1, stderr: "Must specify the -name parameter\n" });
  expect((await cli(["config", "read", "-kind", "service-defaults", "-name", "nope"])).stderr).toBe(
    'Error reading config entry "service-defaults" / "nope": Unexpected response code: 404 (Config entry not found for "service-defaults" / "nope")\n',
  );

  expect(await cli(["config", "write", "-"], JSON.stringify({ Kind: "service-defaults", Name: "tmp" }))).toMatchObject({ code: 0 });
  expect(await cli(["config", "delete", "-kind", "service-defaults", "-name", "tmp"])).toEqual({ code: 0, stdout: "Config entry deleted: service-defaults/tmp\n", stderr: "" });
  expect(await cli(["config", "delete", "-kind", "service-defaults", "-name", "web", "-cas", "-modify-index", "1"])).toEqual({
    code: 1,
    stdout: "",
    stderr: "Config entry not deleted: service-defaults/web\n",
  });
}, 120_000); // some twenty CLI processes, one after another: a loaded box needs more than the default minute

test("intention create/check/get/list/match/delete, with -deny, -allow and -replace", async () => {
  expect(await cli(["intention", "create", "-deny", "web", "db"])).toEqual({ code: 0, stdout: "Created: web => db (deny)\n", stderr: "" });
  expect(await cli(["intention", "check", "web", "db"])).toEqual({ code: 1, stdout: "Denied\n", stderr: "" });
  const dup = await cli(["intention", "create", "-allow", "web", "db"]);
  expect(dup.code).toBe(1);
  expect(dup.stderr).toBe(`Error creating intention "web => db (allow)": Unexpected response code: 500 (Sources[1] defines "web" more than once)\n`);
  expect(await cli(["intention", "create", "-allow", "-replace", "web", "db"])).toEqual({ code: 0, stdout: "", stderr: "" });
  expect(await cli(["intention", "check", "web", "db"])).toEqual({ code: 0, stdout: "Allowed\n", stderr: "" });
  expect(await cli(["intention", "create", "-allow", "-deny", "web", "db"])).toMatchObject({ code: 1, stderr: "Only one of -allow or -deny may be specified.\n" });

  const get = await cli(["intention", "get", "web", "db"]);
  expect(get.code).toBe(0);
  const [ixn] = await client.connectIntentions().getExact("web", "db");
  expect(ixn?.ID).toMatch(/^[0-9a-f-]{36}$/);
  expect(get.stdout).toMatch(new RegExp(`^Source:       web\\nDestination:  db\\nAction:       allow\\nID:           ${ixn!.ID}\\nCreated At:   \\w+, \\d\\d-\\w{3}-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\n$`));
  expect((await cli(["intention", "get", ixn!.ID!])).stdout).toBe(get.stdout);

  expect(await cli(["intention", "create", "-file", "-"], JSON.stringify({ SourceName: "*", DestinationName: "db", Action: "deny" }))).toMatchObject({
    code: 0,
    stdout: "Created: * => db (deny)\n",
  });
  const list = await cli(["intention", "list"]);
  expect(list.stdout.split("\n")[0]).toMatch(/^ID\s+Source\s+Action\s+Destination\s+Precedence$/);
  expect(list.stdout).toMatch(new RegExp(`${ixn!.ID}\\s+web\\s+allow\\s+db\\s+9`));
  expect(await cli(["intention", "match", "db"])).toEqual({ code: 0, stdout: "web => db (allow)\n* => db (deny)\n", stderr: "" });
  expect(await cli(["intention", "match", "-source", "web"])).toEqual({ code: 0, stdout: "web => db (allow)\n* => db (deny)\n", stderr: "" });

  expect(await cli(["intention", "delete", "web", "db"])).toEqual({ code: 0, stdout: "Intention deleted.\n", stderr: "" });
  expect(await cli(["intention", "check", "web", "db"])).toEqual({ code: 1, stdout: "Denied\n", stderr: "" });
  // As in Consul, a by-name edit rewrites the entry as a config entry: the other sources lose their legacy IDs.
  const [star] = await client.connectIntentions().getExact("*", "db");
  expect(star?.ID).toBeUndefined();
  expect(await cli(["intention", "delete", "*", "db"])).toMatchObject({ code: 0 });
  expect(await cli(["intention", "list"])).toEqual({ code: 2, stdout: "", stderr: "There are no intentions.\n" });
  expect(await cli(["intention", "get", "web", "db"])).toEqual({ code: 1, stdout: "", stderr: 'Intention not found with source "web" and destination "db"\n' });
});

test("an L7 service-intentions entry written with config write is seen by check and authorize", async () => {
  const entry = { Kind: "service-intentions", Name: "db", Sources: [{ Name: "web", Permissions: [{ Action: "deny", HTTP: { PathPrefix: "/admin" } }] }] };
  expect(await cli(["config", "write", "-"], JSON.stringify(entry))).toMatchObject({ code: 0, stdout: "Config entry written: service-intentions/db\n" });
  expect(await cli(["intention", "check", "web", "db"])).toMatchObject({ code: 1, stdout: "Denied\n" });
  const auth = await client.connectIntentions().authorize({ Target: "db", ClientCertURI: "spiffe://test.consul/ns/default/dc/dc1/svc/web" });
  expect(auth).toEqual({ Authorized: false, Reason: "Matched L7 intention: default/web => default/db (Precedence: 9, Permissions: 1)" });
  const get = await cli(["intention", "get", "web", "db"]);
  expect(get.stdout).toContain('Permissions:\n[\n  {\n    "Action": "deny",\n    "HTTP": {\n      "PathPrefix": "/admin"\n    }\n  }\n]');
});

test("argument checks answer before any agent is contacted", async () => {
  const { runCli } = await import("../../src/cli/run.ts");
  const { memoryIo } = await import("./memory_io.ts");
  const run = async (args: string[]) => {
    const io = memoryIo({ env: { CONSUL_HTTP_ADDR: "127.0.0.1:1" } });
    const code = await runCli(args, io);
    return { code, err: io.stderrText() };
  };
  expect(await run(["intention", "create", "web"])).toEqual({ code: 1, err: "Error: Must specify two arguments: source and destination\n" });
  expect(await run(["intention", "create", "a/b/c/d", "db"])).toEqual({ code: 1, err: "Error: Invalid intention source: input can contain at most two '/'\n" });
  expect(await run(["intention", "check", "web"])).toEqual({ code: 2, err: "Error: command requires exactly two arguments: src and dst\n" });
  expect(await run(["intention", "match"])).toEqual({ code: 1, err: "Error: command requires exactly one argument: src or dst\n" });
  expect(await run(["config", "write"])).toEqual({ code: 1, err: "Must provide exactly one positional argument to specify the config entry to write\n" });
  expect(await run(["config", "list"])).toEqual({ code: 1, err: "Must specify the -kind parameter\n" });
  expect(await run(["config", "write", "/nonexistent/x.json"])).toEqual({ code: 1, err: "Failed to load data: Failed to read file: open /nonexistent/x.json: no such file or directory\n" });
  const group = await run(["intention"]);
  for (const sub of ["check", "create", "delete", "get", "list", "match"]) expect(group.err).toContain(`    ${sub} `);
});
