/** Errors of agent TLS: bad settings or files, and refused peers. */

/** TLS settings or files that cannot be used; the message names what and why. */
export class TlsSetupError extends Error {
  override readonly name = "TlsSetupError";
}
