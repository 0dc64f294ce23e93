/**
 * Socket errors written the way Go's net package writes them, since Consul's
 * check output is the Go error text (`dial tcp 127.0.0.1:1: connect: connection refused`).
 */

interface SysError {
  code?: string;
  message?: string;
}

const SYSCALL_TEXT: Record<string, string> = {
  ECONNREFUSED: "connect: connection refused",
  EHOSTUNREACH: "connect: no route to host",
  ENETUNREACH: "connect: network is unreachable",
  EADDRNOTAVAIL: "connect: cannot assign requested address",
  ETIMEDOUT: "i/o timeout",
  ECONNRESET: "read: connection reset by peer",
  EPIPE: "write: broken pipe",
};

const UNTRUSTED = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
]);

/** The reason part of a Go net error, without the `dial tcp addr:` prefix. */
export function goErrorReason(err: unknown): string {
  const e = (err ?? {}) as SysError;
  const code = e.code ?? "";
  if (code in SYSCALL_TEXT) return SYSCALL_TEXT[code]!;
  if (UNTRUSTED.has(code)) return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
  if (code === "CERT_HAS_EXPIRED") return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return `tls: failed to verify certificate: x509: ${e.message ?? code}`;
  return e.message ?? String(err);
}

/** Go's dial error: `dial tcp 127.0.0.1:1: connect: connection refused`. */
export function goDialError(network: "tcp" | "udp", address: string, err: unknown): string {
  const code = ((err ?? {}) as SysError).code ?? "";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
    return `dial ${network}: lookup ${splitHost(address)}: no such host`;
  }
  return `dial ${network} ${address}: ${goErrorReason(err)}`;
}

/** A timeout as Go's dialer reports it. */
export function goDialTimeout(network: "tcp" | "udp", address: string): string {
  return `dial ${network} ${address}: i/o timeout`;
}

function splitHost(address: string): string {
  const parsed = splitHostPort(address);
  return parsed ? parsed.host : address;
}

/** Go's net.SplitHostPort: "host:port" or "[v6]:port". */
export function splitHostPort(address: string): { host: string; port: number } | null {
  const m = /^\[([^\]]*)\]:(\d+)$/.exec(address) ?? /^([^:]*):(\d+)$/.exec(address);
  if (!m) return null;
  const port = Number(m[2]);
  return port <= 65535 ? { host: m[1]!, port } : null;
}

/** Go's text for an address SplitHostPort rejects. */
export function addressError(network: "tcp" | "udp", address: string): string {
  const reason = address.includes(":") ? "too many colons in address" : "missing port in address";
  return `dial ${network}: address ${address}: ${reason}`;
}
