/** The `nats` config block and the -nats flag's URL lists. */
import { describe, expect, test } from "bun:test";
import { defaultNatsSettings, mergeNatsBlock, NatsConfigError, splitUrls } from "../../src/agent/config_nats.ts";
import { defaultConfig, mergeConfigObject } from "../../src/agent/config.ts";
import { ConfigError } from "../../src/agent/config_error.ts";
import { validateConfig } from "../../src/agent/config_validate.ts";

describe("nats settings", () => {
  test("a full block", () => {
    const s = mergeNatsBlock(
      defaultNatsSettings(),
      {
        urls: ["nats://a:4222,nats://b:4222", "nats://c:4222"],
        tls: { ca_file: "ca.pem", cert_file: "c.pem", key_file: "k.pem" },
        user: "u",
        password: "p",
        replicas: 1,
        lease_ttl: "1500ms",
      },
      "x.json",
    );
    expect(s.urls).toEqual(["nats://a:4222", "nats://b:4222", "nats://c:4222"]);
    expect(s.tls).toEqual({ caFile: "ca.pem", certFile: "c.pem", keyFile: "k.pem" });
    expect([s.user, s.password, s.replicas, s.leaseTtlMs]).toEqual(["u", "p", 1, 1500]);
  });

  test("bad values name the key", () => {
    const bad: [unknown, string][] = [
      [{ urls: 5 }, "nats.urls must be a list of URLs"],
      [{ tls: { cert_file: "c.pem" } }, "needs both cert_file and key_file"],
      [{ replicas: 7 }, "nats.replicas must be an integer from 1 to 5"],
      [{ lease_ttl: "10ms" }, "nats.lease_ttl must be a duration of at least"],
      [{ colour: "blue" }, "unknown key nats.colour"],
      ["nats://x", "nats must be an object"],
    ];
    for (const [raw, text] of bad) {
      expect(() => mergeNatsBlock(defaultNatsSettings(), raw, "x.json")).toThrow(NatsConfigError);
      expect(() => mergeNatsBlock(defaultNatsSettings(), raw, "x.json")).toThrow(text);
    }
  });

  test("-nats values split on commas", () => {
    expect(splitUrls(["nats://a:1, nats://b:2", "", "nats://c:3"])).toEqual(["nats://a:1", "nats://b:2", "nats://c:3"]);
  });

  test("bootstrap_expect above 1 needs NATS; NATS needs a server without -dev", () => {
    const cfg = defaultConfig();
    mergeConfigObject(cfg, { server: true, data_dir: "/tmp/x", bootstrap_expect: 3 }, "a.json");
    expect(() => validateConfig(cfg)).toThrow("give the NATS servers with -nats");
    mergeConfigObject(cfg, { nats: { urls: ["nats://127.0.0.1:4222"] } }, "b.json");
    expect(() => validateConfig(cfg)).not.toThrow();
    const client = defaultConfig();
    mergeConfigObject(client, { data_dir: "/tmp/x", nats: { urls: ["nats://127.0.0.1:4222"] } }, "c.json");
    expect(() => validateConfig(client)).toThrow(ConfigError);
  });
});
