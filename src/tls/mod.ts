/** Agent TLS: the agent CA and certificates (`consulate tls`), and the TLS settings of the HTTPS API and the RPC port. */
export { TlsSetupError } from "./errors.ts";
export { type CaOptions, type CertOptions, type ExtKeyUsage, generateCa, generateCert, type GeneratedPair, randomSerial } from "./generate.ts";
export { permittedDnsDomains, verifyCertFor } from "./verify.ts";
