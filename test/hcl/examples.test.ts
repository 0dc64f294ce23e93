/**
 * Every example config and config entry the README shows exists in JSON and
 * in HCL (examples/config/), and each pair loads to the same thing through the
 * paths that read them: the agent's config loader (-config-file), `consulate
 * services register` (servicesFromFiles), `consulate config write`
 * (parseConfigEntry, then PUT /v1/config and read back), and ACL rules. A
 * malformed HCL file's error names the file, line and column on each path.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHarness } from "../http/_harness.ts";
import { type AgentConfig, defaultConfig } from "../../src/agent/config.ts";
import { loadConfigFile } from "../../src/agent/config_load.ts";
import { parseRules } from "../../src/acl/rules.ts";
import { parseConfigEntry } from "../../src/cli/config/write.ts";
import { servicesFromFiles } from "../../src/cli/services/files.ts";

const ROOT = join(import.meta.dir, "..", "..");
const EXAMPLES = join(ROOT, "examples", "config");
const example = (name: string) => join(EXAMPLES, name);

const tmp = await mkdtemp(join(tmpdir(), "consulate-examples-"));
const h = await startHarness();
afterAll(async () => {
  await h.stop();
  await rm(tmp, { recursive: true, force: true });
});

async function load(path: string): Promise<AgentConfig> {
  const cfg = defaultConfig();
  await loadConfigFile(cfg, path);
  return cfg;
}

describe("agent config files", () => {
  test("agent-tls: the TLS example of the README", async () => {
    const json = await load(example("agent-tls.json"));
    expect(await load(example("agent-tls.hcl"))).toEqual(json);
    expect(json.ports.https).toBe(8501);
    expect(json).not.toEqual(defaultConfig());
  });

  test("agent-intentions-deny: default_intention_policy", async () => {
    const json = await load(example("agent-intentions-deny.json"));
    expect(json.defaultIntentionPolicy).toBe("deny");
    expect(await load(example("agent-intentions-deny.hcl"))).toEqual(json);
  });

  test("service-web: a service with a check, as an agent config file", async () => {
    const json = await load(example("service-web.json"));
    expect(json.services.length).toBe(1);
    expect(await load(example("service-web.hcl"))).toEqual(json);
  });

  test("agent-federation-dc1: what examples/federation/run.sh writes for dc1", async () => {
    const json = await load(example("agent-federation-dc1.json"));
    expect(await load(example("agent-federation-dc1.hcl"))).toEqual(json);
    expect(json).toMatchObject({ datacenter: "dc1", server: true });
    // The twin is run.sh's own output (only the data folder moves with BASE_DIR).
    const r = spawnSync("bash", [join(ROOT, "examples", "federation", "run.sh"), "config", "dc1"], { env: { ...process.env, BASE_DIR: tmp }, encoding: "utf8" });
    expect(r.status).toBe(0);
    const written = await load(r.stdout.trim());
    expect(written.dataDir).toBe(join(tmp, "dc1", "data"));
    expect({ ...written, dataDir: json.dataDir }).toEqual(json);
  });
});

test("services register: the JSON and HCL service files register the same service", async () => {
  const json = await servicesFromFiles([example("service-web.json")]);
  expect(json).toHaveLength(1);
  expect(json[0]).toMatchObject({ name: "web", port: 8080 });
  expect(await servicesFromFiles([example("service-web.hcl")])).toEqual(json);
});

describe("config entries (config write)", () => {
  /** Writes the entry as `consulate config write` sends it, and reads it back from the agent. */
  async function writeAndRead(path: string): Promise<Record<string, unknown>> {
    const entry = await parseConfigEntry(await readFile(path, "utf8"), path);
    const res = await h.put("/v1/config", entry);
    expect(`${res.status} ${await res.text()}`).toBe("200 true");
    const kind = String(entry.Kind);
    const name = String(entry.Name);
    const { CreateIndex: _c, ModifyIndex: _m, Status: _s, ...rest } = await h.getJson<Record<string, unknown>>(`/v1/config/${kind}/${name}`);
    return rest;
  }

  // In dependency order (the L7 intentions need the http protocol), with a part of each that must have been read.
  const entries: [string, Record<string, unknown>][] = [
    ["service-defaults-db", { Protocol: "http" }],
    ["service-intentions-db", { Sources: [{ Name: "web", Permissions: [{ Action: "deny", HTTP: { PathPrefix: "/admin", Methods: ["POST"] } }] }] }],
    ["api-gateway", { Listeners: [{ Port: 8443, TLS: { Certificates: [{ Name: "gw-cert" }] } }] }],
    ["http-route-edge", { Rules: [{ Filters: { URLRewrite: { Path: "/v2api" }, RetryFilter: { NumRetries: 3 } } }, { Services: [{ Name: "web" }] }] }],
  ];
  for (const [name, part] of entries) {
    test(name, async () => {
      const json = await writeAndRead(example(`${name}.json`));
      expect(json).toMatchObject(part);
      expect(await writeAndRead(example(`${name}.hcl`))).toEqual(json);
    });
  }
});

test("ACL rules: the README's policy reads the same from HCL and JSON", async () => {
  const hcl = await parseRules(await readFile(example("acl-app.hcl"), "utf8"));
  expect(hcl.key_prefix).toEqual([{ Name: "app/", Policy: "write" }]);
  expect(await parseRules(await readFile(example("acl-app.json"), "utf8"))).toEqual(hcl);
});

describe("a malformed HCL file is named with its line and column", () => {
  const position = (file: string) => new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3,\\d+`);

  test("agent config and services register", async () => {
    const bad = join(tmp, "bad-agent.hcl");
    await writeFile(bad, 'datacenter = "dc1"\nports {\n  http = \n}\n');
    await expect(load(bad)).rejects.toThrow(position(bad));
    await expect(servicesFromFiles([bad])).rejects.toThrow(position(bad));
  });

  test("config write", async () => {
    const bad = join(tmp, "bad-entry.hcl");
    await writeFile(bad, 'Kind = "service-defaults"\nName = "db"\nProtocol = = "http"\n');
    await expect(parseConfigEntry(await readFile(bad, "utf8"), bad)).rejects.toThrow(position(bad));
  });
});
