/** DebugConfig of /v1/agent/self: every top-level RuntimeConfig key Consul has, secrets hidden. */
import { expect, test } from "bun:test";
import { defaultConfig, devConfig, mergeConfigObject } from "../../src/agent/config.ts";
import { debugConfig } from "../../src/agent/debug_config.ts";

// The top-level fields of Consul's sanitized RuntimeConfig (agent/config/runtime.go).
const CONSUL_KEYS = `ACLEnableKeyListPolicy ACLInitialManagementToken ACLResolverSettings ACLTokenReplication ACLTokens ACLsEnabled
AEInterval AdvertiseAddrLAN AdvertiseAddrWAN AdvertiseReconnectTimeout AllowWriteHTTPFrom AutoConfig AutoEncryptAllowTLS
AutoEncryptDNSSAN AutoEncryptIPSAN AutoEncryptTLS AutoReloadConfig AutoReloadConfigCoalesceInterval AutopilotCleanupDeadServers
AutopilotDisableUpgradeMigration AutopilotLastContactThreshold AutopilotMaxTrailingLogs AutopilotMinQuorum AutopilotRedundancyZoneTag
AutopilotServerStabilizationTime AutopilotUpgradeVersionTag BindAddr Bootstrap BootstrapExpect BuildDate Cache CheckDeregisterIntervalMin
CheckOutputMaxSize CheckReapInterval CheckUpdateInterval Checks ClientAddrs ConfigEntryBootstrap ConnectCAConfig ConnectCAProvider
ConnectEnabled ConnectMeshGatewayWANFederationEnabled ConnectServerlessPluginEnabled ConnectSidecarMaxPort ConnectSidecarMinPort
ConnectTestCALeafRootChangeSpread ConsulCoordinateUpdateBatchSize ConsulCoordinateUpdateMaxBatches ConsulCoordinateUpdatePeriod
ConsulRaftElectionTimeout ConsulRaftHeartbeatTimeout ConsulRaftLeaderLeaseTimeout ConsulServerHealthInterval DNSARecordLimit DNSAddrs
DNSAllowStale DNSAltDomain DNSCacheMaxAge DNSDisableCompression DNSDomain DNSEnableTruncate DNSMaxStale DNSNodeMetaTXT DNSNodeTTL
DNSOnlyPassing DNSPort DNSRecursorStrategy DNSRecursorTimeout DNSRecursors DNSSOA DNSServiceTTL DNSUDPAnswerLimit DNSUseCache DataDir
Datacenter DefaultQueryTime DevMode DisableAnonymousSignature DisableCoordinates DisableHTTPUnprintableCharFilter DisableHostNodeID
DisableKeyringFile DisableRemoteExec DisableUpdateCheck DiscardCheckOutput DiscoveryMaxStale EnableAgentTLSForChecks
EnableCentralServiceConfig EnableDebug EnableLocalScriptChecks EnableRemoteScriptChecks EncryptKey EnterpriseRuntimeConfig ExposeMaxPort
ExposeMinPort GRPCAddrs GRPCPort GossipLANGossipInterval GossipLANGossipNodes GossipLANProbeInterval GossipLANProbeTimeout
GossipLANRetransmitMult GossipLANSuspicionMult GossipWANGossipInterval GossipWANGossipNodes GossipWANProbeInterval GossipWANProbeTimeout
GossipWANRetransmitMult GossipWANSuspicionMult HTTPAddrs HTTPBlockEndpoints HTTPMaxConnsPerClient HTTPMaxHeaderBytes HTTPPort
HTTPResponseHeaders HTTPSAddrs HTTPSHandshakeTimeout HTTPSPort HTTPUseCache KVMaxValueSize LeaveDrainTime LeaveOnTerm Logging
MaxQueryTime NodeID NodeMeta NodeName PeeringEnabled PidFile PrimaryDatacenter PrimaryGateways PrimaryGatewaysInterval RPCAdvertiseAddr
RPCBindAddr RPCConfig RPCHandshakeTimeout RPCHoldTimeout RPCMaxBurst RPCMaxConnsPerClient RPCProtocol RPCRateLimit RaftBoltDBConfig
RaftProtocol RaftSnapshotInterval RaftSnapshotThreshold RaftTrailingLogs ReadReplica ReconnectTimeoutLAN ReconnectTimeoutWAN
RejoinAfterLeave RetryJoinIntervalLAN RetryJoinIntervalWAN RetryJoinLAN RetryJoinMaxAttemptsLAN RetryJoinMaxAttemptsWAN RetryJoinWAN
Revision SegmentLimit SegmentName SegmentNameLimit Segments SerfAdvertiseAddrLAN SerfAdvertiseAddrWAN SerfAllowedCIDRsLAN
SerfAllowedCIDRsWAN SerfBindAddrLAN SerfBindAddrWAN SerfPortLAN SerfPortWAN ServerMode ServerName ServerPort Services SessionTTLMin
SkipLeaveOnInt StartJoinAddrsLAN StartJoinAddrsWAN StaticRuntimeConfig SyncCoordinateIntervalMin SyncCoordinateRateTarget TLS
TaggedAddresses Telemetry TranslateWANAddrs TxnMaxReqLen UIConfig UnixSocketGroup UnixSocketMode UnixSocketUser UseStreamingBackend
Version VersionMetadata VersionPrerelease Watches`.split(/\s+/);

const rt = { nodeId: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10", advertiseAddr: "10.0.0.7", httpPort: 18500 };

test("every top-level key Consul's DebugConfig has is present, and no other", () => {
  const d = debugConfig(devConfig(), rt);
  expect(Object.keys(d).sort()).toEqual([...CONSUL_KEYS].sort());
  expect(d.Version).toBe("1.22.0");
  expect(d.DevMode).toBe(true);
  expect(d.NodeID).toBe(rt.nodeId);
  expect(d.HTTPPort).toBe(18500);
  expect(d.AEInterval).toBe("1m0s");
});

test("settings come from the config; tokens, keys and secrets read hidden", () => {
  const cfg = defaultConfig();
  mergeConfigObject(
    cfg,
    {
      datacenter: "east",
      node_name: "n1",
      data_dir: "/tmp/x",
      encrypt: "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=",
      acl: { enabled: true, default_policy: "deny", tokens: { agent: "secret-agent", initial_management: "root" } },
      services: [{ name: "web", port: 80, token: "svc-secret" }],
      dns_config: { allow_stale: false, node_ttl: "30s" },
      http_config: { use_cache: false },
      tls: { https: { key_file: "/etc/k.pem", cert_file: "/etc/c.pem" } },
    },
    "cfg.json",
  );
  const d = debugConfig(cfg, rt) as Record<string, any>;
  expect(d.Datacenter).toBe("east");
  expect(d.DataDir).toBe("/tmp/x");
  expect(d.EncryptKey).toBe("hidden");
  expect(d.ACLsEnabled).toBe(true);
  expect(d.ACLResolverSettings.ACLDefaultPolicy).toBe("deny");
  expect(d.ACLTokens.ACLAgentToken).toBe("hidden");
  expect(d.ACLTokens.ACLDefaultToken).toBe("");
  expect(d.ACLInitialManagementToken).toBe("hidden");
  expect(d.Services[0].token).toBe("hidden");
  expect(d.DNSAllowStale).toBe(false);
  expect(d.DNSNodeTTL).toBe("30s");
  expect(d.HTTPUseCache).toBe(false);
  expect(debugConfig(defaultConfig(), rt).HTTPUseCache).toBe(true);
  expect(() => mergeConfigObject(defaultConfig(), { http_config: { use_cache: "no" } }, "bad.json")).toThrow("use_cache");
  expect(d.TLS.HTTPS.CertFile).toBe("/etc/c.pem");
  expect(d.TLS.HTTPS.KeyFile).toBe("hidden");
  expect(JSON.stringify(d)).not.toContain("secret");
  expect(JSON.stringify(d)).not.toContain("pUqJrVyV");
});
