import { expect, test } from "bun:test";
import { defaultConfig, mergeConfigObject } from "../../src/agent/config.ts";
import { ConfigError } from "../../src/agent/config_error.ts";
import { NOT_SUPPORTED_YET } from "../../src/agent/config_keys.ts";

const merge = (raw: unknown) => mergeConfigObject(defaultConfig(), raw, "agent.json");

test("a misspelt key is an error that names the key and the file", () => {
  expect(() => merge({ datacentre: "dc2" })).toThrow(ConfigError);
  expect(() => merge({ datacentre: "dc2" })).toThrow("Error parsing agent.json: invalid config key datacentre");
  expect(() => merge({ ports: { htp: 1 } })).toThrow("invalid config key ports.htp");
  expect(() => merge({ limits: { kv_max_value: 1 } })).toThrow("invalid config key limits.kv_max_value");
  expect(() => merge({ gossip_lan: { probe_intervall: "1s" } })).toThrow("invalid config key gossip_lan.probe_intervall");
  expect(() => merge({ dns_config: { only_pasing: true } })).toThrow("agent.json: invalid config key dns_config.only_pasing");
  expect(() => merge({ connect: { enable: true } })).toThrow("invalid config key connect.enable");
});

test("a Consul feature that is not built yet is refused, saying so, instead of failing open", () => {
  for (const key of Object.keys(NOT_SUPPORTED_YET).filter((k) => !k.includes("."))) {
    expect(() => merge({ [key]: {} })).toThrow(`${key} is a Consul option that Consulate does not support yet`);
  }
  expect(() => merge({ ports: { grpc: 8502 } })).toThrow("ports.grpc is a Consul option that Consulate does not support yet");
});

test("known keys still merge", () => {
  const cfg = defaultConfig();
  mergeConfigObject(cfg, { datacenter: "dc9", ports: { http: 1234 }, limits: { kv_max_value_size: 10 }, dns_config: { prefer_namespace: false } }, "agent.json");
  expect(cfg.datacenter).toBe("dc9");
  expect(cfg.ports.http).toBe(1234);
  expect(cfg.limits.kvMaxValueSize).toBe(10);
  mergeConfigObject(cfg, { limits: { http_max_conns_per_client: 0, rpc_max_conns_per_client: 7, rpc_handshake_timeout: "2s", http_read_timeout: "1m" } }, "agent.json");
  expect(cfg.limits).toMatchObject({ httpMaxConnsPerClient: 0, rpcMaxConnsPerClient: 7, rpcHandshakeTimeoutMs: 2000, httpReadTimeoutMs: 60_000 });
  expect(() => mergeConfigObject(cfg, { limits: { http_max_conns_per_client: -1 } }, "agent.json")).toThrow("limits.http_max_conns_per_client must be an integer, 0 or more");
});
