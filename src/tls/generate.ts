/**
 * Agent TLS certificates, in the shapes `consul tls ca create` and
 * `consul tls cert create` make them (tlsutil/generate.go). This is the agent
 * CA, not the Connect CA: it signs the certificates agents present on the
 * HTTPS API and the server RPC port.
 *
 * - CA: EC P-256, subject C=US, ST=CA, L=San Francisco, street=101 Second
 *   Street, postalCode=94105, O=HashiCorp Inc., CN=Consul Agent CA <serial>;
 *   KeyUsage certSign|cRLSign|digitalSignature; SKID = AKID = SHA-256 of the
 *   key; optional critical DNS name constraints; optional SPIFFE URI SAN.
 * - Leaf: a fresh EC P-256 key, CN=<name>, KeyUsage digitalSignature|
 *   keyEncipherment, the EKUs asked for, DNS and IP SANs, AKID of the CA.
 */
import { concat, seq, tlv } from "../connect/der.ts";
import { serialHex } from "../connect/certs.ts";
import { exportSec1Pem, generateKeyPair, importPrivateKeyPem, keyId, signatureAlgorithm } from "../connect/keys.ts";
import { x509 } from "../connect/x509.ts";
import { TlsSetupError } from "./errors.ts";

const DAY_MS = 86_400_000;

const OID = {
  country: "2.5.4.6",
  province: "2.5.4.8",
  locality: "2.5.4.7",
  street: "2.5.4.9",
  postalCode: "2.5.4.17",
  organization: "2.5.4.10",
  commonName: "2.5.4.3",
  nameConstraints: "2.5.29.30",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

/** A random positive 128-bit serial, as Go's GenerateSerialNumber. */
export function randomSerial(): bigint {
  const raw = crypto.getRandomValues(new Uint8Array(16));
  let n = 0n;
  for (const b of raw) n = (n << 8n) | BigInt(b);
  return n === 0n ? 1n : n;
}

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

export interface CaOptions {
  /** Days the CA is valid (Consul's -days, 1825). */
  readonly days: number;
  /** CN; default "Consul Agent CA <serial>". */
  readonly commonName?: string;
  /** Permitted DNS domains (critical name constraints); empty for none. */
  readonly permittedDnsDomains?: readonly string[];
  /** With a cluster ID, the CA carries the URI SAN spiffe://<cluster-id>.<domain>. */
  readonly clusterId?: string;
  readonly domain?: string;
  readonly nowMs?: number;
}

export interface GeneratedPair {
  readonly certPem: string;
  /** SEC1 "EC PRIVATE KEY", as Go's MarshalECPrivateKey. */
  readonly keyPem: string;
}

/** RFC 5280 NameConstraints with permitted dNSName subtrees. */
function nameConstraints(domains: readonly string[]): Uint8Array {
  const enc = new TextEncoder();
  const subtrees = concat(...domains.map((d) => seq(tlv(0x82, enc.encode(d)))));
  return seq(tlv(0xa0, subtrees));
}

export async function generateCa(o: CaOptions): Promise<GeneratedPair> {
  const keys = await generateKeyPair();
  const serial = randomSerial();
  const now = o.nowMs ?? Date.now();
  const kid = hex(await keyId(keys.publicKey));
  const name: x509.JsonNameParams = [
    { [OID.country]: ["US"] },
    { [OID.province]: ["CA"] },
    { [OID.locality]: ["San Francisco"] },
    { [OID.street]: ["101 Second Street"] },
    { [OID.postalCode]: ["94105"] },
    { [OID.organization]: ["HashiCorp Inc."] },
    { [OID.commonName]: [o.commonName || `Consul Agent CA ${serial}`] },
  ];
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.SubjectKeyIdentifierExtension(kid),
    new x509.AuthorityKeyIdentifierExtension(kid),
  ];
  if (o.permittedDnsDomains && o.permittedDnsDomains.length > 0) {
    extensions.push(new x509.Extension(OID.nameConstraints, true, new Uint8Array(nameConstraints(o.permittedDnsDomains))));
  }
  if (o.clusterId) {
    const domain = (o.domain ?? "consul").replace(/\.$/, "");
    extensions.push(new x509.SubjectAlternativeNameExtension([{ type: "url", value: `spiffe://${o.clusterId}.${domain}` }]));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(serial),
    subject: new x509.Name(name),
    issuer: new x509.Name(name),
    notBefore: new Date(Math.floor(now / 1000) * 1000),
    notAfter: new Date(Math.floor((now + o.days * DAY_MS) / 1000) * 1000),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: signatureAlgorithm({ type: "ec", bits: 256 }),
    extensions,
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await exportSec1Pem(keys) };
}

export type ExtKeyUsage = "serverAuth" | "clientAuth";

export interface CertOptions {
  /** The CA certificate and its private key (PEM). */
  readonly caPem: string;
  readonly caKeyPem: string;
  /** The CN, e.g. server.dc1.consul. */
  readonly name: string;
  readonly days: number;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly extKeyUsage: readonly ExtKeyUsage[];
  readonly nowMs?: number;
}

export async function generateCert(o: CertOptions): Promise<GeneratedPair> {
  let ca: x509.X509Certificate;
  try {
    ca = new x509.X509Certificate(o.caPem);
  } catch (err) {
    throw new TlsSetupError(`failed to parse CA: ${(err as Error).message}`);
  }
  const signer = await importPrivateKeyPem(o.caKeyPem).catch((err: Error) => {
    throw new TlsSetupError(err.message);
  });
  const keys = await generateKeyPair();
  const now = o.nowMs ?? Date.now();
  const caSkid = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.SubjectKeyIdentifierExtension(hex(await keyId(keys.publicKey))),
  ];
  if (o.extKeyUsage.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(o.extKeyUsage.map((u) => OID[u])));
  if (caSkid) extensions.push(new x509.AuthorityKeyIdentifierExtension(caSkid.keyId));
  const names: x509.JsonGeneralNames = [
    ...o.dnsNames.map((value) => ({ type: "dns" as const, value })),
    ...o.ipAddresses.map((value) => ({ type: "ip" as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(randomSerial()),
    subject: new x509.Name([{ [OID.commonName]: [o.name] }]),
    issuer: ca.subjectName,
    notBefore: new Date(Math.floor(now / 1000) * 1000),
    notAfter: new Date(Math.floor((now + o.days * DAY_MS) / 1000) * 1000),
    publicKey: keys.publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm: signatureAlgorithm(signer.spec),
    extensions,
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await exportSec1Pem(keys) };
}
