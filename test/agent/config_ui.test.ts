import { expect, test } from "bun:test";
import { defaultConfig, devConfig, mergeConfigObject } from "../../src/agent/config.ts";
import { ConfigError } from "../../src/agent/config_error.ts";

const merge = (raw: unknown) => {
  const cfg = defaultConfig();
  mergeConfigObject(cfg, raw, "agent.json");
  return cfg.ui;
};

test("the UI is off by default and on in -dev", () => {
  expect(defaultConfig().ui.enabled).toBe(false);
  expect(devConfig().ui.enabled).toBe(true);
});

test("ui_config and the older ui, ui_dir, ui_content_path keys", () => {
  expect(merge({ ui: true }).enabled).toBe(true);
  expect(merge({ ui_dir: "/srv/ui", ui_content_path: "console" })).toMatchObject({ dir: "/srv/ui", contentPath: "/console/" });
  const ui = merge({
    ui_config: {
      enabled: true,
      content_path: "/consul/ui",
      metrics_provider: "prometheus",
      metrics_proxy: { base_url: "http://prom:9090", path_allowlist: ["/api/v1/query"], add_headers: [{ name: "Authorization", value: "Bearer x" }] },
      dashboard_url_templates: { service: "https://grafana/{{Service.Name}}" },
    },
  });
  expect(ui).toMatchObject({
    enabled: true,
    contentPath: "/consul/ui/",
    metricsProvider: "prometheus",
    metricsProxy: { baseUrl: "http://prom:9090", pathAllowlist: ["/api/v1/query"], addHeaders: [{ name: "Authorization", value: "Bearer x" }] },
  });
});

test("bad ui_config values are refused with the key named", () => {
  expect(() => merge({ ui_config: { enabeld: true } })).toThrow("invalid config key ui_config.enabeld");
  expect(() => merge({ ui_config: { enabled: "yes" } })).toThrow("ui_config.enabled must be a boolean");
  expect(() => merge({ ui_config: { content_path: "/" } })).toThrow(ConfigError);
  expect(() => merge({ ui_config: { content_path: "/a/../b" } })).toThrow("is not a valid URL path");
  expect(() => merge({ ui_config: { metrics_proxy: { base_url: "ftp://x" } } })).toThrow("base_url must be an http or https URL");
  expect(() => merge({ ui_config: { metrics_proxy: { path_allowlist: ["relative"] } } })).toThrow("path_allowlist must be a list of absolute paths");
  expect(() => merge({ ui_config: { metrics_proxy: { add_headers: [{ name: 1 }] } } })).toThrow("add_headers must be a list");
  expect(() => merge({ ui_config: [] })).toThrow("ui_config must be an object");
});
