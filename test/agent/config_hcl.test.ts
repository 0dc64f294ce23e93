/** Agent config in HCL: blocks become objects, list keys stay lists, mistakes are named. */
import { afterAll, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../../src/agent/config.ts";
import { ConfigError } from "../../src/agent/config_error.ts";
import { loadConfigDir, loadConfigFile } from "../../src/agent/config_load.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function file(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "consulate-hcl-"));
  dirs.push(dir);
  await writeFile(join(dir, name), text);
  return join(dir, name);
}

test("an HCL file configures the agent as the same JSON would", async () => {
  const cfg = defaultConfig();
  await loadConfigFile(
    cfg,
    await file(
      "agent.hcl",
      `
datacenter = "east"
node_name  = "n1"
ports {
  http = 8511
  dns  = -1
}
retry_join = ["10.0.0.1", "10.0.0.2"]
services {
  name = "web"
  port = 80
  checks {
    name = "alive"
    ttl  = "30s"
  }
}
services {
  name = "db"
  port = 5432
}
`,
    ),
  );
  expect(cfg.datacenter).toBe("east");
  expect(cfg.nodeName).toBe("n1");
  expect(cfg.ports.http).toBe(8511);
  expect(cfg.ports.dns).toBe(-1);
  expect(cfg.gossip.retryJoin).toEqual(["10.0.0.1", "10.0.0.2"]);
  expect(cfg.services).toEqual([
    { name: "web", port: 80, checks: [{ name: "alive", ttl: "30s" }] },
    { name: "db", port: 5432 },
  ]);
});

test("a config dir reads .hcl and .json files alike", async () => {
  const path = await file("a.hcl", 'node_name = "from-hcl"\n');
  await writeFile(join(path, "..", "b.json"), '{"datacenter": "from-json"}');
  const cfg = defaultConfig();
  await loadConfigDir(cfg, join(path, ".."));
  expect(cfg.nodeName).toBe("from-hcl");
  expect(cfg.datacenter).toBe("from-json");
});

test("HCL mistakes are config errors that name the file", async () => {
  const broken = await file("bad.hcl", "ports {\n  http = \n");
  await expect(loadConfigFile(defaultConfig(), broken)).rejects.toThrow(ConfigError);
  await expect(loadConfigFile(defaultConfig(), broken)).rejects.toThrow("bad.hcl");
  const twice = await file("twice.hcl", 'service {\n name = "a"\n}\nservice {\n name = "b"\n}\n');
  await expect(loadConfigFile(defaultConfig(), twice)).rejects.toThrow('"service" is given 2 times; it takes one block (use "services" for several)');
  const unknown = await file("unknown.hcl", 'frobnicate = "yes"\n');
  await expect(loadConfigFile(defaultConfig(), unknown)).rejects.toThrow("frobnicate");
});

test("HCL in a .json file says it looks like HCL", async () => {
  const path = await file("agent.json", 'datacenter = "east"\n');
  await expect(loadConfigFile(defaultConfig(), path)).rejects.toThrow('this looks like HCL: name the file "*.hcl"');
});
