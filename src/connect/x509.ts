/**
 * The one place that loads @peculiar/x509: its v2 needs reflect-metadata
 * loaded before it, and a WebCrypto to work with (the runtime's own).
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
