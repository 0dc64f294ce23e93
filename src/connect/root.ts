/**
 * Making a CA root row: generate (or import) the key, make (or take) the
 * self-signed certificate, and describe it the way Consul's newCARoot does.
 * Runs on the proposing server, outside apply.
 */
import { certInfo, createRootCert } from "./certs.ts";
import type { ConsulCAConfig } from "./config.ts";
import { CAConfigError } from "./errors.ts";
import { exportPkcs8Pem, generateKeyPair, importPrivateKeyPem, keyIdOfSpki, type KeySpec } from "./keys.ts";
import { ensureTrailingNewline } from "./pem.ts";
import { type CARootBody, goTime } from "../structs/connect_ca.ts";

export const ROOT_NAME = "Consul CA Primary Cert";

export interface MakeRootParams {
  readonly config: ConsulCAConfig;
  readonly providerId: string;
  readonly clusterId: string;
  /** Takes the serial of a generated certificate (an imported one keeps its own); called only once the key is good. */
  readonly serial: () => Promise<bigint>;
  readonly nowMs: number;
}

export interface MadeRoot {
  readonly root: CARootBody;
  readonly signingKey: CryptoKey;
  readonly spec: KeySpec;
}

export async function makeRoot(p: MakeRootParams): Promise<MadeRoot> {
  let privateKey: CryptoKey;
  let publicKey: CryptoKey;
  let spec: KeySpec;
  if (p.config.privateKey !== "") {
    const imported = await importPrivateKeyPem(p.config.privateKey).catch((err: Error) => {
      throw new CAConfigError(`error parsing private key: ${err.message}`);
    });
    ({ privateKey, publicKey, spec } = imported);
  } else {
    if (p.config.key.type === "ec" && p.config.key.bits === 224) {
      throw new CAConfigError("EC P-224 keys are not available in WebCrypto; use 256, 384 or 521 bits");
    }
    const pair = await generateKeyPair(p.config.key);
    ({ privateKey, publicKey } = pair);
    spec = p.config.key;
  }
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
  let pem: string;
  if (p.config.rootCert !== "") {
    pem = ensureTrailingNewline(p.config.rootCert.trim());
    const info = await certInfo(pem);
    if (!info.isCA) throw new CAConfigError("RootCert is not a CA certificate");
    if (!sameBytes(info.spki, spki)) throw new CAConfigError("RootCert does not match PrivateKey");
  } else {
    pem = await createRootCert({ keys: { privateKey, publicKey }, spec, clusterId: p.clusterId, serial: await p.serial(), nowMs: p.nowMs, ttlMs: p.config.rootCertTtlMs });
  }
  const info = await certInfo(pem);
  const skid = info.subjectKeyId !== "" ? info.subjectKeyId : [...(await keyIdOfSpki(spki))].map((b) => b.toString(16).padStart(2, "0")).join(":");
  const root: CARootBody = {
    ID: info.fingerprint,
    Name: ROOT_NAME,
    SerialNumber: info.serial.toString(),
    SigningKeyID: skid,
    ExternalTrustDomain: p.clusterId,
    NotBefore: goTime(info.notBefore),
    NotAfter: goTime(info.notAfter),
    RootCert: pem,
    IntermediateCerts: [],
    Active: true,
    RotatedOutAt: 0,
    PrivateKeyType: info.spec.type,
    PrivateKeyBits: info.spec.bits,
    SigningKey: await exportPkcs8Pem(privateKey),
    ProviderID: p.providerId,
  };
  return { root, signingKey: privateKey, spec };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
