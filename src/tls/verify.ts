/**
 * A check of a freshly made certificate against its CA, as Consul runs
 * tlsutil.Verify before saving one: signed by the CA's key, and every DNS
 * name inside the CA's permitted name constraints.
 */
import { verifySignedBy } from "../connect/certs.ts";
import { children, contents, readTlv } from "../connect/der.ts";
import { x509 } from "../connect/x509.ts";
import { TlsSetupError } from "./errors.ts";

const OID_NAME_CONSTRAINTS = "2.5.29.30";

/** Permitted dNSName subtrees of a CA, or null when it has no name constraints. */
export function permittedDnsDomains(caPem: string): string[] | null {
  const ext = new x509.X509Certificate(caPem).getExtension(OID_NAME_CONSTRAINTS);
  if (!ext) return null;
  const der = new Uint8Array(ext.value);
  const out: string[] = [];
  const permitted = children(der, readTlv(der, 0)).find((t) => t.tag === 0xa0);
  if (!permitted) return out;
  const dec = new TextDecoder();
  for (const subtree of children(der, permitted)) {
    const base = children(der, subtree)[0];
    if (base?.tag === 0x82) out.push(dec.decode(contents(der, base)));
  }
  return out;
}

function withinDomain(name: string, domain: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, "");
  const d = domain.toLowerCase().replace(/^\./, "").replace(/\.$/, "");
  return n === d || n.endsWith(`.${d}`);
}

export async function verifyCertFor(certPem: string, caPem: string, name: string): Promise<void> {
  if (!(await verifySignedBy(certPem, caPem))) throw new TlsSetupError("x509: certificate signed by unknown authority");
  const permitted = permittedDnsDomains(caPem);
  if (permitted === null) return;
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  const dns = san?.names.items.filter((n) => n.type === "dns").map((n) => n.value) ?? [];
  for (const d of [name, ...dns]) {
    if (!permitted.some((p) => withinDomain(d, p))) {
      throw new TlsSetupError(`x509: a root or intermediate certificate is not authorized to sign for this name: DNS name "${d}" is not permitted by any constraint`);
    }
  }
}
