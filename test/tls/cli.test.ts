/** `consulate tls ca create` / `tls cert create`: Consul's file names, SANs and key types, checked by openssl. */
import { expect, test } from "bun:test";
import { runCli } from "../../src/cli/run.ts";
import { memoryIo } from "../cli/memory_io.ts";
import { openssl } from "../connect/_openssl.ts";

const dec = new TextDecoder();

function session() {
  const io = memoryIo();
  const file = (name: string): string => {
    const data = io.written.get(name);
    if (!data) throw new Error(`${name} was not written`);
    return dec.decode(data);
  };
  const run = async (...args: string[]) => {
    io.out.length = 0;
    io.err.length = 0;
    const code = await runCli(["tls", ...args], io);
    return { code, out: io.stdoutText(), err: io.stderrText() };
  };
  return { io, run, file };
}

const sans = (pem: string) => openssl(["x509", "-in", "{c.pem}", "-noout", "-ext", "subjectAltName,extendedKeyUsage"], { "c.pem": pem }).out;
const verify = (ca: string, leaf: string) => openssl(["verify", "-CAfile", "{ca.pem}", "{leaf.pem}"], { "ca.pem": ca, "leaf.pem": leaf });

test("ca create writes consul-agent-ca.pem and its EC key, and refuses to overwrite them", async () => {
  const s = session();
  const r = await s.run("ca", "create");
  expect(r.code).toBe(0);
  expect(r.out).toBe("==> Saved consul-agent-ca.pem\n==> Saved consul-agent-ca-key.pem\n");
  const subject = openssl(["x509", "-in", "{ca.pem}", "-noout", "-subject", "-ext", "basicConstraints,keyUsage"], { "ca.pem": s.file("consul-agent-ca.pem") }).out;
  expect(subject).toMatch(/subject=C = US, ST = CA, L = San Francisco, street = 101 Second Street, postalCode = 94105, O = HashiCorp Inc., CN = Consul Agent CA \d+/);
  expect(subject).toContain("CA:TRUE");
  expect(subject).toContain("Certificate Sign, CRL Sign");
  const key = s.file("consul-agent-ca-key.pem");
  expect(key.startsWith("-----BEGIN EC PRIVATE KEY-----")).toBe(true);
  expect(openssl(["ec", "-in", "{k.pem}", "-noout", "-text"], { "k.pem": key }).out).toContain("prime256v1");
  const again = await s.run("ca", "create");
  expect(again.code).toBe(1);
  expect(again.err).toBe("consul-agent-ca.pem already exists.\n");
  const named = await s.run("ca", "create", "-domain", "example", "-common-name", "My CA", "-days", "30");
  expect(named.out).toContain("==> Saved example-agent-ca.pem");
  expect(openssl(["x509", "-in", "{c.pem}", "-noout", "-subject"], { "c.pem": s.file("example-agent-ca.pem") }).out).toContain("CN = My CA");
});

test("cert create -server|-client|-cli: Consul's names, SANs and usages, numbered files, verified by openssl", async () => {
  const s = session();
  await s.run("ca", "create");
  const ca = s.file("consul-agent-ca.pem");

  const server = await s.run("cert", "create", "-server", "-node", "s1", "-additional-dnsname", "consul.example", "-additional-ipaddress", "10.0.0.7");
  expect(server.code).toBe(0);
  expect(server.out).toContain("==> WARNING: Server Certificates grants authority to become a\n");
  expect(server.out).toContain("==> Using consul-agent-ca.pem and consul-agent-ca-key.pem\n==> Saved dc1-server-consul-0.pem\n==> Saved dc1-server-consul-0-key.pem\n");
  const srv = s.file("dc1-server-consul-0.pem");
  expect(sans(srv)).toContain("DNS:consul.example, DNS:s1.server.dc1.consul, DNS:server.dc1.consul, DNS:localhost, IP Address:10.0.0.7, IP Address:127.0.0.1");
  expect(sans(srv)).toContain("TLS Web Server Authentication, TLS Web Client Authentication");
  expect(openssl(["x509", "-in", "{c.pem}", "-noout", "-subject"], { "c.pem": srv }).out).toContain("CN = server.dc1.consul");
  expect(verify(ca, srv).out).toContain(": OK");
  // The key matches the certificate.
  const pub = (args: string[], files: Record<string, string>) => openssl(args, files).out.replace(/^(read|writing) EC key\n/gm, "");
  expect(pub(["ec", "-in", "{k.pem}", "-pubout"], { "k.pem": s.file("dc1-server-consul-0-key.pem") })).toBe(
    pub(["x509", "-in", "{c.pem}", "-noout", "-pubkey"], { "c.pem": srv }),
  );

  expect((await s.run("cert", "create", "-server", "-dc", "dc2")).out).toContain("==> Saved dc2-server-consul-0.pem");
  expect((await s.run("cert", "create", "-server")).out).toContain("==> Saved dc1-server-consul-1.pem");

  const client = await s.run("cert", "create", "-client");
  expect(client.out).not.toContain("WARNING");
  const cl = s.file("dc1-client-consul-0.pem");
  expect(sans(cl)).toContain("DNS:client.dc1.consul, DNS:localhost, IP Address:127.0.0.1");
  expect(sans(cl)).toContain("TLS Web Client Authentication, TLS Web Server Authentication");
  expect(verify(ca, cl).out).toContain(": OK");

  await s.run("cert", "create", "-cli", "-additional-dnsname", "dropped.example");
  const cli = s.file("dc1-cli-consul-0.pem");
  expect(sans(cli)).toContain("DNS:cli.dc1.consul, DNS:localhost");
  expect(sans(cli)).not.toContain("dropped.example");
  expect(sans(cli)).not.toContain("Extended Key Usage");
  expect(verify(ca, cli).out).toContain(": OK");
});

test("cert create refuses bad combinations and a CA it cannot read", async () => {
  const s = session();
  expect((await s.run("cert", "create", "-server", "-client")).err).toBe("Please provide either -server, -client, or -cli\n");
  expect((await s.run("cert", "create")).code).toBe(1);
  expect((await s.run("cert", "create", "-client", "-node", "n")).err).toBe("-node requires -server\n");
  const missing = await s.run("cert", "create", "-server");
  expect(missing.code).toBe(1);
  expect(missing.err).toStartWith("Error reading CA: ");
  await s.run("ca", "create");
  s.io.written.set("garbage-key.pem", new TextEncoder().encode("not a key"));
  const badKey = await s.run("cert", "create", "-client", "-key", "garbage-key.pem");
  expect(badKey.code).toBe(1);
  expect(badKey.err).toContain("no PEM-encoded data found");
  expect((await s.run("cert", "create", "-client", "-additional-ipaddress", "300.1.1.1")).err).toBe("Invalid IP address: 300.1.1.1\n");
});

test("a name-constrained CA signs only inside its domains", async () => {
  const s = session();
  await s.run("ca", "create", "-name-constraint", "-additional-name-constraint", "example.com");
  const ca = s.file("consul-agent-ca.pem");
  expect(openssl(["x509", "-in", "{c.pem}", "-noout", "-ext", "nameConstraints"], { "c.pem": ca }).out).toMatch(/critical[\s\S]*DNS:example.com[\s\S]*DNS:consul[\s\S]*DNS:localhost/);
  const ok = await s.run("cert", "create", "-server", "-additional-dnsname", "api.example.com");
  expect(ok.code).toBe(0);
  expect(verify(ca, s.file("dc1-server-consul-0.pem")).out).toContain(": OK");
  const refused = await s.run("cert", "create", "-server", "-additional-dnsname", "evil.org");
  expect(refused.code).toBe(1);
  expect(refused.err).toContain('DNS name "evil.org" is not permitted');
  expect(s.io.written.has("dc1-server-consul-1.pem")).toBe(false);
});
