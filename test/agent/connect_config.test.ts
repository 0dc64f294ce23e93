/** The agent config's `connect` block. */
import { expect, test } from "bun:test";
import { defaultConfig, mergeConfigObject } from "../../src/agent/config.ts";
import { ConfigError } from "../../src/agent/config_error.ts";

test("ca_config keys are translated to the CA's names; cluster_id is taken out and checked", () => {
  const cfg = defaultConfig();
  expect(cfg.connect.enabled).toBe(true);
  mergeConfigObject(
    cfg,
    { connect: { enabled: false, ca_provider: "consul", ca_config: { leaf_cert_ttl: "24h", private_key_type: "rsa", private_key_bits: 2048, csr_max_per_second: 10, cluster_id: "11111111-2222-3333-4444-555555555555" } } },
    "a.json",
  );
  expect(cfg.connect).toEqual({
    enabled: false,
    caConfig: { LeafCertTTL: "24h", PrivateKeyType: "rsa", PrivateKeyBits: 2048, CSRMaxPerSecond: 10 },
    clusterId: "11111111-2222-3333-4444-555555555555",
  });
  // A later file adds to the block.
  mergeConfigObject(cfg, { connect: { ca_config: { root_cert_ttl: "43800h" } } }, "b.json");
  expect(cfg.connect.caConfig.RootCertTTL).toBe("43800h");
  expect(cfg.connect.caConfig.LeafCertTTL).toBe("24h");
});

test("bad connect blocks name what is wrong", () => {
  const bad = (connect: unknown) => () => mergeConfigObject(defaultConfig(), { connect }, "c.json");
  expect(bad({ ca_provider: "vault" })).toThrow(ConfigError);
  expect(bad({ ca_provider: "vault" })).toThrow('c.json: connect.ca_provider "vault" is not supported');
  expect(bad({ ca_config: { cluster_id: "nope" } })).toThrow("cluster_id was supplied but was not a valid UUID");
  expect(bad({ enabled: "yes" })).toThrow("c.json: connect.enabled must be a boolean");
  expect(bad("on")).toThrow("c.json: connect must be an object");
});
