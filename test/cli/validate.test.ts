/** `consulate validate`: config files and directories checked as the agent loads them, nothing started. */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/run.ts";
import { memoryIo } from "./memory_io.ts";

const dir = mkdtempSync(join(tmpdir(), "consulate-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function validate(...args: string[]) {
  const io = memoryIo();
  const code = await runCli(["validate", ...args], io);
  return { code, out: io.stdoutText(), err: io.stderrText() };
}

test("a directory of mixed JSON and HCL that the agent would accept is valid", async () => {
  const d = join(dir, "good");
  mkdirSync(d);
  writeFileSync(join(d, "a.json"), JSON.stringify({ datacenter: "east", data_dir: "/var/lib/consulate" }));
  writeFileSync(join(d, "b.hcl"), 'server = true\nbootstrap_expect = 1\nservice {\n  name = "web"\n  port = 80\n}\n');
  writeFileSync(join(d, "notes.txt"), "ignored, as the agent ignores it");
  expect(await validate(d)).toEqual({ code: 0, out: "Configuration is valid!\n", err: "" });
  expect(await validate("-quiet", d)).toEqual({ code: 0, out: "", err: "" });
});

test("what the agent refuses, validate refuses naming the file; -config-format reads an unnamed file", async () => {
  const bad = join(dir, "bad.hcl");
  writeFileSync(bad, 'data_dir = "/x"\nports {\n  http = \n}\n');
  const r = await validate(bad);
  expect(r.code).toBe(1);
  expect(r.err).toStartWith(`Config validation failed: Error parsing ${bad}: ${bad}:3,10-4,1: Invalid expression`);
  const unknown = join(dir, "unknown.json");
  writeFileSync(unknown, JSON.stringify({ data_dir: "/x", bogus_key: 1 }));
  expect((await validate(unknown)).err).toContain("bogus_key");
  const noDataDir = join(dir, "nodata.json");
  writeFileSync(noDataDir, JSON.stringify({ server: true }));
  expect(await validate(noDataDir)).toEqual({ code: 1, out: "", err: "Config validation failed: data_dir cannot be empty\n" });
  const plain = join(dir, "agent.conf");
  writeFileSync(plain, 'data_dir = "/x"\n');
  expect((await validate(plain)).code).toBe(1);
  expect(await validate("-config-format=hcl", plain)).toEqual({ code: 0, out: "Configuration is valid!\n", err: "" });
  expect((await validate(join(dir, "missing.json"))).err).toContain("missing.json");
  expect((await validate()).err).toBe("Must specify at least one config file or directory\n");
});
