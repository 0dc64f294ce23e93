/** Agent TLS: the agent CA and certificates (`consulate tls`), and the TLS settings of the HTTPS API and the RPC port. */
export { TlsSetupError } from "./errors.ts";
export { type CaOptions, type CertOptions, type ExtKeyUsage, generateCa, generateCert, type GeneratedPair, randomSerial } from "./generate.ts";
export { permittedDnsDomains, verifyCertFor } from "./verify.ts";
export {
  type AutoEncryptSettings,
  CIPHER_SUITES,
  defaultTlsSettings,
  LEGACY_KEYS,
  mergeAutoEncryptBlock,
  mergeLegacyKey,
  mergeTlsBlock,
  type ProtocolTls,
  resolveProtocol,
  tlsConfigured,
  type TlsSettings,
  type TlsVersion,
} from "./config.ts";
export { type ClientTls, refuseChain, type ServerTls, TlsContext, type TlsContextOptions } from "./context.ts";
export { checkPair, type KeyPair, loadCas, loadKeyPair, loadMaterial, type Material } from "./material.ts";
export { acceptTls, dialTls, peerChain } from "./sockets.ts";
