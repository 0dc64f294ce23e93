/**
 * Certificate signing requests: the agent makes one per leaf (its own fresh
 * key, the SPIFFE URI as the only URI SAN, no subject, as Consul's
 * connect.CreateCSR); the server parses and checks it before signing.
 */
import { CertificateError } from "./errors.ts";
import { DEFAULT_KEY_SPEC, type KeySpec, signatureAlgorithm } from "./keys.ts";
import { pemDecode, plainBytes } from "./pem.ts";
import { x509 } from "./x509.ts";

export interface CsrParams {
  readonly uri: string;
  readonly keys: CryptoKeyPair;
  readonly spec?: KeySpec;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

export async function createCsr(p: CsrParams): Promise<string> {
  // Consul drops a ":port" suffix from DNS SANs and de-duplicates them.
  const dns = [...new Set((p.dnsNames ?? []).map((h) => h.split(":")[0]!).filter((h) => h !== ""))];
  const names: x509.JsonGeneralNames = [
    ...dns.map((value) => ({ type: "dns" as const, value })),
    ...(p.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
    { type: "url", value: p.uri },
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: p.keys,
    signingAlgorithm: signatureAlgorithm(p.spec ?? DEFAULT_KEY_SPEC),
    extensions: [new x509.SubjectAlternativeNameExtension(names, true)],
  });
  return csr.toString("pem") + "\n";
}

export interface ParsedCsr {
  readonly spki: Uint8Array;
  readonly uris: string[];
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
}

/** Parses a PEM CSR and checks its self-signature; errors carry Consul's texts. */
export async function parseCsr(pem: string): Promise<ParsedCsr> {
  const block = pemDecode(pem);
  if (!block) throw new CertificateError("no PEM-encoded data found");
  if (block.type !== "CERTIFICATE REQUEST") throw new CertificateError("first PEM-block should be CERTIFICATE REQUEST type");
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(plainBytes(block.der));
  } catch (err) {
    throw new CertificateError(`x509: malformed certificate request: ${(err as Error).message}`);
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch {
    ok = false;
  }
  if (!ok) throw new CertificateError("x509: ECDSA verification failure");
  const sanExt = csr.getExtension("2.5.29.17");
  const san = sanExt ? new x509.SubjectAlternativeNameExtension(sanExt.rawData) : null;
  const items = san?.names.items ?? [];
  return {
    spki: new Uint8Array(csr.publicKey.rawData),
    uris: items.filter((n) => n.type === "url").map((n) => n.value),
    dnsNames: items.filter((n) => n.type === "dns").map((n) => n.value),
    ipAddresses: items.filter((n) => n.type === "ip").map((n) => n.value),
  };
}
