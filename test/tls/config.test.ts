/** The tls / auto_encrypt blocks and Consul's older top-level TLS keys, and the file checks at load. */
import { expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defaultConfig, mergeConfigObject } from "../../src/agent/config.ts";
import { ConfigError } from "../../src/agent/config_error.ts";
import { generateCa, generateCert, loadMaterial, resolveProtocol, TlsContext } from "../../src/tls/mod.ts";
import { tempDir } from "../e2e/_agent.ts";

const merged = (...files: unknown[]) => {
  const cfg = defaultConfig();
  files.forEach((raw, i) => mergeConfigObject(cfg, raw, `f${i}.json`));
  return cfg;
};

test("the tls block: defaults under each protocol, internal_rpc.verify_server_hostname, https overrides", () => {
  const cfg = merged({
    tls: {
      defaults: { ca_file: "ca.pem", cert_file: "a.pem", key_file: "a-key.pem", verify_incoming: true, tls_min_version: "TLSv1_3" },
      internal_rpc: { verify_server_hostname: true, verify_outgoing: true },
      https: { verify_incoming: false, cert_file: "h.pem" },
    },
  });
  const rpc = resolveProtocol(cfg.tls, "internalRpc");
  expect(rpc).toMatchObject({ caFile: "ca.pem", certFile: "a.pem", verifyIncoming: true, verifyOutgoing: true, verifyServerHostname: true, tlsMinVersion: "TLSv1_3" });
  const https = resolveProtocol(cfg.tls, "https");
  expect(https).toMatchObject({ caFile: "ca.pem", certFile: "h.pem", keyFile: "a-key.pem", verifyIncoming: false, verifyServerHostname: false });
  expect(resolveProtocol(merged({}).tls, "https")).toMatchObject({ verifyIncoming: false, tlsMinVersion: "TLSv1_2", cipherSuites: [] });
});

test("older top-level keys map where Consul maps them, the block wins, and each is reported as deprecated", () => {
  const cfg = merged({ ca_file: "old.pem", verify_incoming_rpc: true, verify_incoming_https: true, verify_server_hostname: true, verify_outgoing: true, tls_min_version: "tls12" }, { tls: { defaults: { ca_file: "new.pem" } } });
  const rpc = resolveProtocol(cfg.tls, "internalRpc");
  expect(rpc).toMatchObject({ caFile: "new.pem", verifyIncoming: true, verifyServerHostname: true, verifyOutgoing: true, tlsMinVersion: "TLSv1_2" });
  expect(resolveProtocol(cfg.tls, "https").verifyIncoming).toBe(true);
  expect(cfg.tls.warnings).toContain("The 'ca_file' field is deprecated. Use the 'tls.defaults.ca_file' field instead.");
  expect(cfg.tls.warnings).toContain("The 'verify_server_hostname' field is deprecated. Use the 'tls.internal_rpc.verify_server_hostname' field instead.");
});

test("bad TLS settings are refused with the key named", () => {
  const bad = (raw: unknown, msg: string) => expect(() => merged(raw)).toThrow(msg);
  bad({ tls: { defaults: { verify_server_hostname: true } } }, "Error parsing f0.json: invalid config key tls.defaults.verify_server_hostname");
  bad({ tls: { http: {} } }, "invalid config key tls.http");
  bad({ tls: { defaults: { tls_min_version: "SSLv3" } } }, 'tls.defaults.tls_min_version: unsupported TLS version "SSLv3"');
  bad({ tls: { https: { tls_cipher_suites: "TLS_RSA_WITH_RC4_128_SHA" } } }, 'unsupported cipher suite "TLS_RSA_WITH_RC4_128_SHA"');
  bad({ verify_incoming: "yes" }, "verify_incoming must be a boolean");
  bad({ auto_encrypt: { tls: true, bogus: 1 } }, "invalid config key auto_encrypt.bogus");
  expect(() => merged({ tls: [] })).toThrow(ConfigError);
  const ae = merged({ auto_encrypt: { tls: true, dns_san: ["a.example"], ip_san: ["10.0.0.1"] } }).tls.autoEncrypt;
  expect(ae).toEqual({ tls: true, allowTls: false, dnsSan: ["a.example"], ipSan: ["10.0.0.1"] });
});

test("loading checks the files the way Consul does", async () => {
  const dir = await tempDir("tls-config-");
  try {
    const f = (n: string) => join(dir.path, n);
    const ca = await generateCa({ days: 1 });
    const leaf = await generateCert({ caPem: ca.certPem, caKeyPem: ca.keyPem, name: "server.dc1.consul", days: 1, dnsNames: ["server.dc1.consul"], ipAddresses: [], extKeyUsage: ["serverAuth"] });
    const other = await generateCert({ caPem: ca.certPem, caKeyPem: ca.keyPem, name: "x", days: 1, dnsNames: [], ipAddresses: [], extKeyUsage: [] });
    await writeFile(f("ca.pem"), ca.certPem);
    await writeFile(f("s.pem"), leaf.certPem);
    await writeFile(f("s-key.pem"), leaf.keyPem);
    await writeFile(f("x-key.pem"), other.keyPem);
    await writeFile(f("junk.pem"), "not a certificate");
    const base = { caFile: "", caPath: "", certFile: "", keyFile: "", verifyIncoming: false, verifyOutgoing: false, verifyServerHostname: false, tlsMinVersion: "TLSv1_2" as const, cipherSuites: [] };
    const m = await loadMaterial({ ...base, caFile: f("ca.pem"), certFile: f("s.pem"), keyFile: f("s-key.pem"), verifyIncoming: true }, false);
    expect(m.ca).toHaveLength(1);
    expect(m.pair?.cert).toBe(leaf.certPem);
    await expect(loadMaterial({ ...base, verifyIncoming: true, certFile: f("s.pem"), keyFile: f("s-key.pem") }, false)).rejects.toThrow("VerifyIncoming set but no CA certificates were provided");
    await expect(loadMaterial({ ...base, verifyIncoming: true, caFile: f("ca.pem") }, false)).rejects.toThrow("VerifyIncoming requires either a Cert and Key pair");
    await expect(loadMaterial({ ...base, verifyOutgoing: true }, false)).rejects.toThrow("VerifyOutgoing set but no CA certificates were provided");
    await expect(loadMaterial({ ...base, certFile: f("s.pem"), keyFile: f("x-key.pem") }, false)).rejects.toThrow("Failed to load cert/key pair: tls: private key does not match public key");
    await expect(loadMaterial({ ...base, caFile: f("junk.pem") }, false)).rejects.toThrow("no certificates found");
    await expect(loadMaterial({ ...base, caFile: f("missing.pem") }, false)).rejects.toThrow(`Error loading from ${f("missing.pem")}`);
    expect((await loadMaterial({ ...base, caPath: dir.path }, false).catch((e: Error) => e.message)) as string).toContain("junk.pem");

    // The dialer's view: chain only without verify_server_hostname, the server name with it.
    const cfg = merged({ tls: { defaults: { ca_file: f("ca.pem"), verify_outgoing: true } } });
    const ctx = await TlsContext.load(cfg.tls, { serverMode: false, datacenter: "dc1", domain: "consul." });
    expect(ctx.outgoingRpc()).toMatchObject({ serverName: "", verify: true });
    mergeConfigObject(cfg, { tls: { internal_rpc: { verify_server_hostname: true } } }, "more.json");
    await ctx.reload(cfg.tls);
    expect(ctx.outgoingRpc()?.serverName).toBe("server.dc1.consul");
    expect(ctx.version).toBe(1);
  } finally {
    await dir.remove();
  }
});
