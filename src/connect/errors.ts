/** Errors of the Connect CA; messages follow Consul's texts where it has one. */

/** Bad key, certificate, CSR or SPIFFE ID material. */
export class CertificateError extends Error {
  override readonly name = "CertificateError";
}

/** A CA configuration that cannot be used (bad TTLs, key type, provider). */
export class CAConfigError extends Error {
  override readonly name = "CAConfigError";
}

/** A signing request the CA refuses (trust domain, datacenter, URI kind). */
export class SignRequestError extends Error {
  override readonly name = "SignRequestError";
}

/** The CSR rate limit was hit; the agent retries later (Consul's structs.ErrRateLimited). */
export class RateLimitedError extends Error {
  override readonly name = "RateLimitedError";
  constructor() {
    super("Rate limit reached, try again later");
  }
}

/** The CA has no active root yet (leadership just started) or Connect is off. */
export class CAUnavailableError extends Error {
  override readonly name = "CAUnavailableError";
}
