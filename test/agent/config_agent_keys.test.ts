/** Agent config keys for the local agent: ae_interval, check_reap_interval, check_update_interval, ports.dns = -1. */
import { expect, test } from "bun:test";
import { devConfig, mergeConfigObject } from "../../src/agent/config.ts";
import { ConfigError } from "../../src/agent/config_error.ts";
import { validateConfig } from "../../src/agent/config_validate.ts";

test("sync and reap periods are Go durations; bad or non-positive ones are refused with the key named", () => {
  const cfg = devConfig();
  expect([cfg.aeIntervalMs, cfg.checkReapIntervalMs, cfg.checkUpdateIntervalMs]).toEqual([null, null, null]);
  mergeConfigObject(cfg, { ae_interval: "1m30s", check_reap_interval: "500ms", check_update_interval: "2m" }, "a.json");
  expect([cfg.aeIntervalMs, cfg.checkReapIntervalMs, cfg.checkUpdateIntervalMs]).toEqual([90_000, 500, 120_000]);
  expect(() => mergeConfigObject(cfg, { ae_interval: "soon" }, "b.json")).toThrow(new ConfigError('b.json: ae_interval must be a positive duration such as "30s", got "soon"'));
  expect(() => mergeConfigObject(cfg, { check_reap_interval: "-1s" }, "c.json")).toThrow(ConfigError);
  expect(() => mergeConfigObject(cfg, { ae_interval: 5 }, "d.json")).toThrow(ConfigError);
});

test("ports.dns = -1 turns DNS off, as in Consul (and http/https = -1 their listeners); other ports may not be negative", () => {
  const cfg = devConfig();
  cfg.ports.dns = -1;
  expect(() => validateConfig(cfg)).not.toThrow();
  cfg.ports.http = -1;
  expect(() => validateConfig(cfg)).not.toThrow();
  cfg.ports.server = -1;
  expect(() => validateConfig(cfg)).toThrow(new ConfigError("ports.server out of range: -1"));
});
