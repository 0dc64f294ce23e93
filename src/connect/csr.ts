/**
 * Certificate signing requests: the agent makes one per leaf (its own fresh
 * key, the SPIFFE URI as the only URI SAN, no subject, as Consul's
 * connect.CreateCSR); the server parses and checks it before signing.
 */
import { DEFAULT_KEY_SPEC, type KeySpec, signatureAlgorithm } from "./keys.ts";
import { type CsrFields, readCsr } from "./leaf.ts";
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

export type ParsedCsr = CsrFields;

/** Parses a PEM CSR and checks its self-signature; errors carry Consul's texts. */
export function parseCsr(pem: string): Promise<ParsedCsr> {
  return readCsr(pem);
}
