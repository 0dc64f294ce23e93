/**
 * What a leaf CSR may ask of this datacenter's CA (Consul's
 * CAManager.SignCertificate checks), and the IssuedCert answered for it.
 */
import { hexString, SignRequestError, type SpiffeId, spiffeUri } from "../connect/mod.ts";
import { goTime, type IssuedCert, issuedCertJson } from "../structs/connect_ca.ts";

/**
 * The identity a leaf is signed for: a service or mesh gateway of this
 * trust domain and datacenter, or an agent (whose trust domain is fixed up:
 * agents may ask before they know it). Anything else is a SignRequestError.
 */
export function leafIdentity(asked: SpiffeId, uris: readonly string[], trustDomain: string, datacenter: string): { id: SpiffeId; uris: readonly string[] } {
  switch (asked.kind) {
    case "service":
    case "mesh-gateway":
      if (asked.host.toLowerCase() !== trustDomain) throw new SignRequestError(`SPIFFE ID in CSR from a different trust domain: ${asked.host}, we are ${trustDomain}`);
      if (asked.datacenter !== datacenter) throw new SignRequestError(`SPIFFE ID in CSR from a different datacenter: ${asked.datacenter}, we are ${datacenter}`);
      return { id: asked, uris };
    case "agent": {
      if (asked.host === trustDomain) return { id: asked, uris };
      const original = spiffeUri(asked);
      const id = { ...asked, host: trustDomain };
      const fixed = spiffeUri(id);
      return { id, uris: uris.map((u) => (u === original ? fixed : u)) };
    }
    default:
      throw new SignRequestError("SPIFFE ID in CSR must be a service, mesh-gateway, or agent ID");
  }
}

/** A signed leaf as ConnectCA.Sign answers it: the service, agent or mesh gateway it names, at the serial's log index. */
export function issuedLeaf(
  id: SpiffeId,
  uri: string,
  leaf: { readonly serial: bigint; readonly pem: string; readonly notBefore: number; readonly notAfter: number; readonly index: number },
): IssuedCert {
  const base = {
    SerialNumber: hexString(bigintBytes(leaf.serial)),
    CertPEM: leaf.pem,
    ValidAfter: goTime(leaf.notBefore),
    ValidBefore: goTime(leaf.notAfter),
    CreateIndex: leaf.index,
    ModifyIndex: leaf.index,
  };
  if (id.kind === "service") return issuedCertJson({ ...base, Service: id.service, ServiceURI: uri });
  if (id.kind === "agent") return issuedCertJson({ ...base, Agent: id.agent, AgentURI: uri });
  return issuedCertJson({ ...base, Kind: "mesh-gateway", KindURI: uri });
}

function bigintBytes(n: bigint): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return new Uint8Array((hex.match(/../g) ?? []).map((h) => Number.parseInt(h, 16)));
}
