/**
 * `consulate tls cert create -server|-client|-cli`: a certificate signed by
 * the agent CA, saved as <dc>-<kind>-<domain>-<n>.pem and -key.pem with the
 * first free <n>. Names as Consul's: server.<dc>.<domain> (plus
 * <node>.server.<dc>.<domain> with -node), client.<dc>.<domain>,
 * cli.<dc>.<domain>; localhost always, 127.0.0.1 for servers and clients.
 */
import { boolFlag, intFlag, stringFlag } from "../flags.ts";
import { defineCommand, errorText } from "../command.ts";
import { listFlag } from "../services/register.ts";
import { type ExtKeyUsage, generateCert, verifyCertFor } from "../../tls/mod.ts";
import { fileExists, savePair } from "./files.ts";

const help = `
Usage: consulate tls cert create [options]

  Create a new certificate

  $ consulate tls cert create -server
  ==> WARNING: Server Certificates grants authority to become a
      server and access all state in the cluster including root keys
      and all ACL tokens. Do not distribute them to production hosts
      that are not server nodes. Store them as securely as CA keys.
  ==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
  ==> Saved dc1-server-consul-0.pem
  ==> Saved dc1-server-consul-0-key.pem
  $ consulate tls cert create -client
  ==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
  ==> Saved dc1-client-consul-0.pem
  ==> Saved dc1-client-consul-0-key.pem
`;

const SERVER_WARNING = `==> WARNING: Server Certificates grants authority to become a
    server and access all state in the cluster including root keys
    and all ACL tokens. Do not distribute them to production hosts
    that are not server nodes. Store them as securely as CA keys.`;

export const tlsCertCreateCommand = defineCommand({
  synopsis: "Create a new certificate",
  help,
  flags: {
    ca: stringFlag("#DOMAIN#-agent-ca.pem", "Provide path to the ca. Defaults to #DOMAIN#-agent-ca.pem."),
    key: stringFlag("#DOMAIN#-agent-ca-key.pem", "Provide path to the key. Defaults to #DOMAIN#-agent-ca-key.pem."),
    server: boolFlag(false, "Generate server certificate."),
    client: boolFlag(false, "Generate client certificate."),
    node: stringFlag("", "When generating a server cert and this is set an additional dns name is included of the form <node>.server.<datacenter>.<domain>."),
    cli: boolFlag(false, "Generate cli certificate."),
    days: intFlag(365, "Provide number of days the certificate is valid for from now on. Defaults to 1 year."),
    dc: stringFlag("dc1", "Provide the datacenter. Matters only for -server certificates. Defaults to dc1."),
    domain: stringFlag("consul", "Provide the domain. Matters only for -server certificates."),
    "additional-dnsname": listFlag("Provide an additional dnsname for Subject Alternative Names. localhost is always included. This flag may be provided multiple times."),
    "additional-ipaddress": listFlag("Provide an additional ipaddress for Subject Alternative Names. 127.0.0.1 is always included. This flag may be provided multiple times."),
  },
  async run({ values: f, args }, ui) {
    if (args.length > 0) {
      ui.error(`Too many arguments (expected 0, got ${args.length})`);
      return 1;
    }
    if (f.ca === "") {
      ui.error("Please provide the ca");
      return 1;
    }
    if (f.key === "") {
      ui.error("Please provide the key");
      return 1;
    }
    if ([f.server, f.client, f.cli].filter(Boolean).length !== 1) {
      ui.error("Please provide either -server, -client, or -cli");
      return 1;
    }
    if (f.node !== "" && !f.server) {
      ui.error("-node requires -server");
      return 1;
    }
    let dnsNames = f["additional-dnsname"].map((d) => d.trim()).filter((d) => d !== "");
    const ipAddresses = f["additional-ipaddress"].map((i) => i.trim()).filter((i) => i !== "");
    for (const ip of ipAddresses) {
      if (!isIp(ip)) {
        ui.error(`Invalid IP address: ${ip}`);
        return 1;
      }
    }
    let extKeyUsage: ExtKeyUsage[] = [];
    const kind = f.server ? "server" : f.client ? "client" : "cli";
    const name = `${kind}.${f.dc}.${f.domain}`;
    if (f.server) {
      if (f.node !== "") dnsNames.push(`${f.node}.server.${f.dc}.${f.domain}`);
      dnsNames.push(name, "localhost");
      ipAddresses.push("127.0.0.1");
      extKeyUsage = ["serverAuth", "clientAuth"];
    } else if (f.client) {
      dnsNames.push(name, "localhost");
      ipAddresses.push("127.0.0.1");
      extKeyUsage = ["clientAuth", "serverAuth"];
    } else {
      // As Consul: a cli certificate names only itself and localhost.
      dnsNames = [name, "localhost"];
    }
    const prefix = `${f.dc}-${kind}-${f.domain}`;
    let certFile = "";
    let keyFile = "";
    for (let i = 0; i <= 10_000; i++) {
      const c = `${prefix}-${i}.pem`;
      const k = `${prefix}-${i}-key.pem`;
      if (!(await fileExists(ui.io, c)) && !(await fileExists(ui.io, k))) {
        certFile = c;
        keyFile = k;
        break;
      }
    }
    if (certFile === "") {
      ui.error("Could not find a filename that doesn't already exist");
      return 1;
    }
    const caFile = f.ca.replace("#DOMAIN#", f.domain);
    const caKeyFile = f.key.replace("#DOMAIN#", f.domain);
    const dec = new TextDecoder();
    let caPem: string;
    let caKeyPem: string;
    try {
      caPem = dec.decode(await ui.io.readFile(caFile));
    } catch (err) {
      ui.error(`Error reading CA: ${errorText(err)}`);
      return 1;
    }
    try {
      caKeyPem = dec.decode(await ui.io.readFile(caKeyFile));
    } catch (err) {
      ui.error(`Error reading CA key: ${errorText(err)}`);
      return 1;
    }
    if (f.server) ui.info(SERVER_WARNING);
    ui.info(`==> Using ${caFile} and ${caKeyFile}`);
    try {
      const pair = await generateCert({ caPem, caKeyPem, name, days: f.days, dnsNames, ipAddresses, extKeyUsage });
      await verifyCertFor(pair.certPem, caPem, name);
      await savePair(ui, certFile, keyFile, pair);
    } catch (err) {
      ui.error(errorText(err));
      return 1;
    }
    return 0;
  },
});

function isIp(s: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return s.split(".").every((p) => Number(p) <= 255);
  return /^[0-9a-fA-F:]+$/.test(s) && s.includes(":") && (s.match(/::/g) ?? []).length <= 1;
}
