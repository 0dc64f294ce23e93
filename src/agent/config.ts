/**
 * Agent configuration: Consul's JSON config files (snake_case keys, merged in
 * order, a directory's *.json files alphabetically), then command-line flags.
 * The config's shape, its defaults and the merge of one parsed file are here;
 * reading files is in config_load.ts, the final checks in config_validate.ts.
 */
import { type ConnectSettings, ConnectConfigError, defaultConnectSettings, mergeConnectBlock } from "./connect_config.ts";
import { hostname } from "node:os";
import { isLogLevel, type LogLevel } from "./logger.ts";
import { isObject } from "../structs/json.ts";
import { defaultDnsOptions, DnsConfigError, type DnsOptions, mergeDnsOptions } from "../dns/config.ts";
import { checkKeys, unknownKey } from "./config_keys.ts";
import { asConfigError, ConfigError } from "./config_error.ts";
import { defaultGossipSettings, type GossipSettings, gossipTimings } from "./config_gossip.ts";
import { duration, expect, isBool, isNum, isStr, isStrList } from "./config_values.ts";
import { defaultAclSettings, mergeAclBlock } from "./config_acl.ts";
import type { AgentAclSettings } from "./acl.ts";
import { defaultTlsSettings, mergeAutoEncryptBlock, mergeLegacyKey, mergeTlsBlock, TlsSetupError, type TlsSettings } from "../tls/mod.ts";
import { defaultUiSettings, mergeUiKey, type UiSettings } from "./config_ui.ts";
import { defaultNatsSettings, mergeNatsBlock, NatsConfigError, type NatsSettings } from "./config_nats.ts";
import { defaultFederationSettings, FederationConfigError, type FederationSettings, mergeFederationBlock } from "../../federation/config.ts";

export interface AgentConfig {
  dev: boolean;
  server: boolean;
  bootstrap: boolean;
  bootstrapExpect: number;
  nodeName: string;
  nodeId: string;
  datacenter: string;
  primaryDatacenter: string;
  bindAddr: string;
  clientAddr: string;
  advertiseAddr: string;
  /** `http` and `https` take -1 for off (HTTPS is off unless set, 8501 by convention). */
  ports: { http: number; https: number; dns: number; server: number; serfLan: number; serfWan: number; sidecarMinPort: number; sidecarMaxPort: number };
  dataDir: string;
  pidFile: string;
  logLevel: LogLevel;
  enableScriptChecks: boolean;
  enableLocalScriptChecks: boolean;
  /** `disable_remote_exec`: `consul exec` jobs are refused unless set to false (Consul's default is true). */
  disableRemoteExec: boolean;
  /**
   * Consul's `limits` block: value sizes, and per-client connection caps
   * (`http_max_conns_per_client` 200, `rpc_max_conns_per_client` 100, 0 = no
   * cap), `rpc_handshake_timeout` (5s), plus Consulate's `http_read_timeout`
   * (30s): how long a request's body may take to arrive, and a connection
   * its next request head (src/runtime/serve.ts).
   */
  limits: {
    kvMaxValueSize: number;
    txnMaxReqLen: number;
    httpMaxConnsPerClient: number;
    rpcMaxConnsPerClient: number;
    rpcHandshakeTimeoutMs: number;
    httpReadTimeoutMs: number;
  };
  nodeMeta: Record<string, string>;
  /** Log entries between snapshots (Consul's raft_snapshot_threshold). */
  snapshotThreshold: number;
  /** Entries kept behind a snapshot when a clustered log is compacted (Consul's raft_trailing_logs). */
  trailingLogs: number;
  /** Where a clustered server's log lives (`-nats`, the `nats` block); no URLs: a single server on its own log. */
  nats: NatsSettings;
  /** Cross-datacenter links (`federation` block, `-federation-nats`); see federation/config.ts. */
  federation: FederationSettings;
  /** `advertise_addr_wan` / `-advertise-wan`: the address other datacenters' servers reach this one's WAN gossip on. */
  advertiseWanAddr: string;
  /** DNS: `domain`, `alt_domain`, `recursors`, `translate_wan_addrs` and the `dns_config` block. */
  domain: string;
  altDomain: string;
  recursors: string[];
  translateWanAddrs: boolean;
  /** `http_config.use_cache` (default true): false answers `?cached` reads from the servers. */
  httpUseCache: boolean;
  dns: DnsOptions;
  /** Anti-entropy full-sync period (`ae_interval`, a Go duration; Consul's default 1m). */
  aeIntervalMs: number | null;
  /** How often services critical past DeregisterCriticalServiceAfter are reaped (`check_reap_interval`, 30s). */
  checkReapIntervalMs: number | null;
  /** Output-only check changes wait this long before syncing (`check_update_interval`, 5m). */
  checkUpdateIntervalMs: number | null;
  /** `default_intention_policy` ("allow" | "deny"): what intentions decide when none matches; "" follows the ACL default (allow). */
  defaultIntentionPolicy: "" | "allow" | "deny";
  /** `disable_coordinates`: no Vivaldi coordinates sent or served (the /v1/coordinate endpoints answer 401). */
  disableCoordinates: boolean;
  /**
   * How often the agent sends its coordinate: `sync_coordinate_rate_target`
   * (updates a second across the cluster, 64) and `sync_coordinate_interval_min`
   * (15s); and how servers batch them, `consul.coordinate.update_period` (5s),
   * `update_batch_size` (128) and `update_max_batches` (5). Consul's tuning knobs.
   */
  coordinates: { rateTarget: number; intervalMinMs: number; updatePeriodMs: number; updateBatchSize: number; updateMaxBatches: number };
  /** The `connect` block: Connect on or off, and the CA's initial configuration. */
  connect: ConnectSettings;
  /** The `acl` block. */
  acl: AgentAclSettings;
  /** Raw `services`/`checks` blocks, for the agent's local state. */
  services: unknown[];
  checks: unknown[];
  /** Agent TLS: the `tls` block, its older top-level keys and `auto_encrypt`. */
  tls: TlsSettings;
  /** The web UI (`ui_config` and its older keys; on with `-dev`). */
  ui: UiSettings;
  /** Gossip membership (`-join`, `-retry-join`, `-rejoin`, `-encrypt`, `gossip_lan`/`gossip_wan`). */
  gossip: GossipSettings;
}

export function defaultConfig(): AgentConfig {
  return {
    dev: false,
    server: false,
    bootstrap: false,
    bootstrapExpect: 0,
    nodeName: hostname(),
    nodeId: "",
    datacenter: "dc1",
    primaryDatacenter: "",
    bindAddr: "127.0.0.1",
    clientAddr: "127.0.0.1",
    advertiseAddr: "",
    ports: { http: 8500, https: -1, dns: 8600, server: 8300, serfLan: 8301, serfWan: 8302, sidecarMinPort: 21000, sidecarMaxPort: 21255 },
    dataDir: "",
    pidFile: "",
    logLevel: "info",
    enableScriptChecks: false,
    enableLocalScriptChecks: false,
    disableRemoteExec: true,
    limits: { kvMaxValueSize: 512 * 1024, txnMaxReqLen: 512 * 1024, httpMaxConnsPerClient: 200, rpcMaxConnsPerClient: 100, rpcHandshakeTimeoutMs: 5000, httpReadTimeoutMs: 30_000 },
    nodeMeta: {},
    snapshotThreshold: 16_384,
    trailingLogs: 10_240,
    nats: defaultNatsSettings(),
    federation: defaultFederationSettings(),
    advertiseWanAddr: "",
    domain: "consul.",
    altDomain: "",
    recursors: [],
    translateWanAddrs: false,
    httpUseCache: true,
    dns: defaultDnsOptions(),
    aeIntervalMs: null,
    checkReapIntervalMs: null,
    checkUpdateIntervalMs: null,
    defaultIntentionPolicy: "",
    disableCoordinates: false,
    coordinates: { rateTarget: 64, intervalMinMs: 15_000, updatePeriodMs: 5000, updateBatchSize: 128, updateMaxBatches: 5 },
    connect: defaultConnectSettings(),
    acl: defaultAclSettings(),
    services: [],
    checks: [],
    tls: defaultTlsSettings(),
    ui: defaultUiSettings(),
    gossip: defaultGossipSettings(),
  };
}

export function devConfig(): AgentConfig {
  return { ...defaultConfig(), dev: true, server: true, bootstrap: true, logLevel: "debug", ports: { ...defaultConfig().ports, dns: 8600 }, ui: { ...defaultUiSettings(), enabled: true } };
}

/** The `consul` tuning block; of it, only `coordinate` is read. */
function consulTuning(file: string, v: unknown, current: AgentConfig["coordinates"]): AgentConfig["coordinates"] {
  const block = expect<Record<string, unknown>>(file, "consul", v, isObject, "an object");
  checkKeys(file, "consul.", block, ["coordinate"]);
  if (block.coordinate === undefined) return current;
  const c = expect<Record<string, unknown>>(file, "consul.coordinate", block.coordinate, isObject, "an object");
  checkKeys(file, "consul.coordinate.", c, ["update_period", "update_batch_size", "update_max_batches"]);
  const out = { ...current };
  const positive = (k: string) => expect<number>(file, `consul.coordinate.${k}`, c[k], (x) => isNum(x) && (x as number) > 0, "a positive integer");
  if (c.update_period !== undefined) out.updatePeriodMs = duration(file, "consul.coordinate.update_period", c.update_period);
  if (c.update_batch_size !== undefined) out.updateBatchSize = positive("update_batch_size");
  if (c.update_max_batches !== undefined) out.updateMaxBatches = positive("update_max_batches");
  return out;
}

/** Merges one parsed config file into `cfg`. An unknown key is an error that names it and the file, as in Consul. */
export function mergeConfigObject(cfg: AgentConfig, raw: unknown, file: string): void {
  if (!isObject(raw)) throw new ConfigError(`${file}: config must be a JSON object`);
  for (const [key, v] of Object.entries(raw)) {
    switch (key) {
      case "datacenter": cfg.datacenter = expect(file, key, v, isStr, "a string"); break;
      case "primary_datacenter": cfg.primaryDatacenter = expect(file, key, v, isStr, "a string"); break;
      case "default_intention_policy": cfg.defaultIntentionPolicy = expect(file, key, v, (x) => x === "allow" || x === "deny", '"allow" or "deny"'); break;
      case "node_name": cfg.nodeName = expect(file, key, v, isStr, "a string"); break;
      case "node_id": cfg.nodeId = expect(file, key, v, isStr, "a string"); break;
      case "data_dir": cfg.dataDir = expect(file, key, v, isStr, "a string"); break;
      case "server": cfg.server = expect(file, key, v, isBool, "a boolean"); break;
      case "bootstrap": cfg.bootstrap = expect(file, key, v, isBool, "a boolean"); break;
      case "bootstrap_expect": cfg.bootstrapExpect = expect(file, key, v, isNum, "an integer"); break;
      case "bind_addr": cfg.bindAddr = expect(file, key, v, isStr, "a string"); break;
      case "client_addr": cfg.clientAddr = expect(file, key, v, isStr, "a string"); break;
      case "advertise_addr": cfg.advertiseAddr = expect(file, key, v, isStr, "a string"); break;
      case "pid_file": cfg.pidFile = expect(file, key, v, isStr, "a string"); break;
      case "log_level": {
        const l = expect<string>(file, key, v, isStr, "a string").toLowerCase();
        if (!isLogLevel(l)) throw new ConfigError(`${file}: unknown log_level "${l}"`);
        cfg.logLevel = l;
        break;
      }
      case "enable_script_checks": cfg.enableScriptChecks = expect(file, key, v, isBool, "a boolean"); break;
      case "enable_local_script_checks": cfg.enableLocalScriptChecks = expect(file, key, v, isBool, "a boolean"); break;
      case "disable_remote_exec": cfg.disableRemoteExec = expect(file, key, v, isBool, "a boolean"); break;
      case "disable_coordinates": cfg.disableCoordinates = expect(file, key, v, isBool, "a boolean"); break;
      case "sync_coordinate_interval_min": cfg.coordinates = { ...cfg.coordinates, intervalMinMs: duration(file, key, v) }; break;
      case "sync_coordinate_rate_target": {
        const rate = expect<number>(file, key, v, (x) => typeof x === "number" && x > 0, "a positive number");
        cfg.coordinates = { ...cfg.coordinates, rateTarget: rate };
        break;
      }
      case "consul": cfg.coordinates = consulTuning(file, v, cfg.coordinates); break;
      case "connect":
        if (isObject(v)) checkKeys(file, "connect.", v, ["enabled", "ca_provider", "ca_config"]);
        cfg.connect = asConfigError(() => mergeConnectBlock(cfg.connect, v, file), ConnectConfigError);
        break;
      case "acl": cfg.acl = mergeAclBlock(cfg.acl, v, file); break;
      case "node_meta": cfg.nodeMeta = { ...cfg.nodeMeta, ...expect<Record<string, string>>(file, key, v, isObject, "an object") }; break;
      case "ports": {
        const p = expect<Record<string, unknown>>(file, key, v, isObject, "an object");
        checkKeys(file, "ports.", p, ["http", "https", "dns", "server", "serf_lan", "serf_wan", "sidecar_min_port", "sidecar_max_port"]);
        const port = (k: string) => expect<number>(file, `ports.${k}`, p[k], isNum, "an integer");
        if ("http" in p) cfg.ports.http = port("http");
        if ("https" in p) cfg.ports.https = port("https");
        if ("dns" in p) cfg.ports.dns = port("dns");
        if ("server" in p) cfg.ports.server = port("server");
        if ("serf_lan" in p) cfg.ports.serfLan = port("serf_lan");
        if ("serf_wan" in p) cfg.ports.serfWan = port("serf_wan");
        if ("sidecar_min_port" in p) cfg.ports.sidecarMinPort = port("sidecar_min_port");
        if ("sidecar_max_port" in p) cfg.ports.sidecarMaxPort = port("sidecar_max_port");
        break;
      }
      case "limits": {
        const l = expect<Record<string, unknown>>(file, key, v, isObject, "an object");
        checkKeys(file, "limits.", l, ["kv_max_value_size", "txn_max_req_len", "http_max_conns_per_client", "rpc_max_conns_per_client", "rpc_handshake_timeout", "http_read_timeout"]);
        const atLeastZero = (k: string) => expect<number>(file, `limits.${k}`, l[k], (x) => isNum(x) && (x as number) >= 0, "an integer, 0 or more");
        if ("http_max_conns_per_client" in l) cfg.limits.httpMaxConnsPerClient = atLeastZero("http_max_conns_per_client");
        if ("rpc_max_conns_per_client" in l) cfg.limits.rpcMaxConnsPerClient = atLeastZero("rpc_max_conns_per_client");
        if ("rpc_handshake_timeout" in l) cfg.limits.rpcHandshakeTimeoutMs = duration(file, "limits.rpc_handshake_timeout", l.rpc_handshake_timeout);
        if ("http_read_timeout" in l) cfg.limits.httpReadTimeoutMs = duration(file, "limits.http_read_timeout", l.http_read_timeout);
        if ("kv_max_value_size" in l) cfg.limits.kvMaxValueSize = expect(file, "limits.kv_max_value_size", l.kv_max_value_size, isNum, "an integer");
        if ("txn_max_req_len" in l) cfg.limits.txnMaxReqLen = expect(file, "limits.txn_max_req_len", l.txn_max_req_len, isNum, "an integer");
        break;
      }
      case "domain": cfg.domain = expect(file, key, v, isStr, "a string"); break;
      case "alt_domain": cfg.altDomain = expect(file, key, v, isStr, "a string"); break;
      case "recursors": cfg.recursors.push(...expect<string[]>(file, key, v, (x) => Array.isArray(x) && x.every(isStr), "a list of strings")); break;
      case "translate_wan_addrs": cfg.translateWanAddrs = expect(file, key, v, isBool, "a boolean"); break;
      case "http_config": {
        const h = expect<Record<string, unknown>>(file, key, v, isObject, "an object");
        checkKeys(file, "http_config.", h, ["use_cache"]);
        if ("use_cache" in h) cfg.httpUseCache = expect(file, "http_config.use_cache", h.use_cache, isBool, "a boolean");
        break;
      }
      case "dns_config": cfg.dns = asConfigError(() => mergeDnsOptions(cfg.dns, v), DnsConfigError, `${file}: `); break;
      case "raft_snapshot_threshold": cfg.snapshotThreshold = expect(file, key, v, isNum, "an integer"); break;
      case "raft_trailing_logs": cfg.trailingLogs = expect(file, key, v, isNum, "an integer"); break;
      case "nats": cfg.nats = asConfigError(() => mergeNatsBlock(cfg.nats, v, file), NatsConfigError); break;
      case "federation": cfg.federation = asConfigError(() => mergeFederationBlock(cfg.federation, v, file), FederationConfigError); break;
      case "advertise_addr_wan": cfg.advertiseWanAddr = expect(file, key, v, isStr, "a string"); break;
      case "start_join_wan": cfg.gossip.startJoinWan.push(...expect<string[]>(file, key, v, isStrList, "a list of strings")); break;
      case "retry_join_wan": cfg.gossip.retryJoinWan.push(...expect<string[]>(file, key, v, isStrList, "a list of strings")); break;
      case "ae_interval": cfg.aeIntervalMs = duration(file, key, v); break;
      case "check_reap_interval": cfg.checkReapIntervalMs = duration(file, key, v); break;
      case "check_update_interval": cfg.checkUpdateIntervalMs = duration(file, key, v); break;
      case "service": cfg.services.push(v); break;
      case "services": cfg.services.push(...expect<unknown[]>(file, key, v, Array.isArray, "a list")); break;
      case "start_join": cfg.gossip.startJoin.push(...expect<string[]>(file, key, v, isStrList, "a list of strings")); break;
      case "retry_join": cfg.gossip.retryJoin.push(...expect<string[]>(file, key, v, isStrList, "a list of strings")); break;
      case "retry_interval": cfg.gossip.retryIntervalMs = duration(file, key, v); break;
      case "retry_max": cfg.gossip.retryMax = expect(file, key, v, isNum, "an integer"); break;
      case "rejoin_after_leave": cfg.gossip.rejoinAfterLeave = expect(file, key, v, isBool, "a boolean"); break;
      case "encrypt": cfg.gossip.encrypt = expect(file, key, v, isStr, "a string"); break;
      case "leave_on_terminate": cfg.gossip.leaveOnTerminate = expect(file, key, v, isBool, "a boolean"); break;
      case "skip_leave_on_interrupt": cfg.gossip.skipLeaveOnInterrupt = expect(file, key, v, isBool, "a boolean"); break;
      case "gossip_lan": cfg.gossip.lan = { ...cfg.gossip.lan, ...gossipTimings(file, key, v) }; break;
      case "gossip_wan": cfg.gossip.wan = { ...cfg.gossip.wan, ...gossipTimings(file, key, v) }; break;
      case "check": cfg.checks.push(v); break;
      case "checks": cfg.checks.push(...expect<unknown[]>(file, key, v, Array.isArray, "a list")); break;
      case "tls": asConfigError(() => mergeTlsBlock(cfg.tls, v), TlsSetupError, `Error parsing ${file}: `); break;
      case "auto_encrypt": asConfigError(() => mergeAutoEncryptBlock(cfg.tls, v), TlsSetupError, `Error parsing ${file}: `); break;
      default:
        if (mergeUiKey(cfg.ui, key, v, file)) break;
        if (asConfigError(() => mergeLegacyKey(cfg.tls, key, v), TlsSetupError, `Error parsing ${file}: `)) break;
        throw unknownKey(file, key);
    }
  }
}
