/**
 * Loading a protocol's files: the CA certificates (ca_file, or every file
 * under ca_path) and the certificate/key pair, checked the way Consul's
 * tlsutil checks them so a bad file stops the agent at start (or a reload)
 * with a message naming it, instead of failing handshakes later.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { readCert } from "../connect/leaf.ts";
import { importPrivateKeyPem } from "../connect/keys.ts";
import { pemDecodeAll, pemEncode } from "../connect/pem.ts";
import type { ProtocolTls } from "./config.ts";
import { TlsSetupError } from "./errors.ts";

export interface KeyPair {
  /** The certificate chain (leaf first), PEM. */
  readonly cert: string;
  readonly key: string;
}

export interface Material {
  /** Trusted CA certificates, one PEM each. */
  readonly ca: readonly string[];
  readonly pair: KeyPair | null;
}

async function readText(path: string, what: (err: Error) => string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new TlsSetupError(what(err as Error));
  }
}

/** Splits PEM text into single certificates; throws when it holds none. */
export function certificatesIn(text: string, source: string): string[] {
  const certs = pemDecodeAll(text).filter((b) => b.type === "CERTIFICATE");
  if (certs.length === 0) throw new TlsSetupError(`Error loading from ${source}: no certificates found`);
  for (const c of certs) {
    try {
      readCert(c.der);
    } catch (err) {
      throw new TlsSetupError(`Error loading from ${source}: ${(err as Error).message}`);
    }
  }
  return certs.map((c) => pemEncode("CERTIFICATE", c.der));
}

/** Consul's LoadCAs: ca_file wins; else every file under ca_path. */
export async function loadCas(caFile: string, caPath: string): Promise<string[]> {
  if (caFile !== "") return certificatesIn(await readText(caFile, (e) => `Error loading from ${caFile}: ${e.message}`), caFile);
  if (caPath === "") return [];
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (err) {
      throw new TlsSetupError(`Error loading from ${dir}: ${(err as Error).message}`);
    }
    for (const n of names) {
      const p = join(dir, n);
      if ((await stat(p)).isDirectory()) await walk(p);
      else out.push(...certificatesIn(await readText(p, (e) => `Error loading from ${p}: ${e.message}`), p));
    }
  };
  await walk(caPath);
  if (out.length === 0) throw new TlsSetupError("Error loading from CAPath: no CAs found");
  return out;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Checks a certificate/key pair (parses, and the key is the certificate's). */
export async function checkPair(cert: string, key: string): Promise<KeyPair> {
  const fail = (why: string) => new TlsSetupError(`Failed to load cert/key pair: ${why}`);
  const blocks = pemDecodeAll(cert).filter((b) => b.type === "CERTIFICATE");
  if (blocks.length === 0) throw fail("tls: failed to find any PEM data in certificate input");
  let spki: Uint8Array;
  try {
    spki = readCert(blocks[0]!.der).spki;
  } catch (err) {
    throw fail((err as Error).message);
  }
  const imported = await importPrivateKeyPem(key).catch((err: Error) => {
    throw fail(err.message === "no PEM-encoded data found" ? "tls: failed to find any PEM data in key input" : err.message);
  });
  const pub = new Uint8Array(await crypto.subtle.exportKey("spki", imported.publicKey));
  if (!sameBytes(pub, spki)) throw fail("tls: private key does not match public key");
  return { cert, key };
}

export async function loadKeyPair(certFile: string, keyFile: string): Promise<KeyPair | null> {
  if (certFile === "" || keyFile === "") return null;
  const cert = await readText(certFile, (e) => `Failed to load cert/key pair: open ${certFile}: ${e.message}`);
  const key = await readText(keyFile, (e) => `Failed to load cert/key pair: open ${keyFile}: ${e.message}`);
  return checkPair(cert, key);
}

/** A protocol's files, with Consul's checks of what verify_incoming / verify_outgoing need. */
export async function loadMaterial(p: ProtocolTls, autoTls: boolean): Promise<Material> {
  const pair = await loadKeyPair(p.certFile, p.keyFile);
  const ca = await loadCas(p.caFile, p.caPath);
  if (p.verifyIncoming) {
    if (ca.length === 0) throw new TlsSetupError("VerifyIncoming set but no CA certificates were provided");
    if (!pair && !autoTls) throw new TlsSetupError("VerifyIncoming requires either a Cert and Key pair in the configuration file, or auto_encrypt/auto_config be enabled");
  }
  if (p.verifyOutgoing && ca.length === 0) throw new TlsSetupError("VerifyOutgoing set but no CA certificates were provided");
  return { ca, pair };
}
