/**
 * Intention checks at a mesh endpoint, over the intentions the endpoint
 * watches: once per connection (L4), and per HTTP request or HTTP/2 stream
 * when the service speaks http, http2 or grpc (L7). Evaluation is the shared pure evaluator in src/connect.
 */
import { authorizeConnection, authorizeRequest, findIntention, type HttpRequestInfo } from "../../src/connect/mod.ts";
import type { IntentionSet } from "./sources.ts";
import type { ServiceIdentity } from "./spiffe.ts";

export interface ConnectionVerdict {
  readonly allowed: boolean;
  /** Allowed so far, but each request must be judged (an L7 intention matched on an http service). */
  readonly perRequest: boolean;
  readonly reason: string;
}

/** Protocols whose requests an L7 intention can judge (HTTP/2 and gRPC streams are judged one by one too). */
export function isHttpProtocol(protocol: string): boolean {
  return protocol === "http" || protocol === "http2" || protocol === "grpc";
}

export function judgeConnection(set: IntentionSet, source: ServiceIdentity, destination: string, protocol: string): ConnectionVerdict {
  const src = { name: source.service, namespace: source.namespace, partition: source.partition };
  const dst = { name: destination };
  const opts = { defaultAllow: set.defaultAllow };
  const ixn = findIntention(set.intentions, src, dst);
  const l7 = (ixn?.Permissions?.length ?? 0) > 0;
  if (l7 && isHttpProtocol(protocol)) return { allowed: true, perRequest: true, reason: "L7 intention: judged per request" };
  const d = authorizeConnection(set.intentions, src, dst, opts);
  // Without an L7 intention an http service still gets per-request checks, so a later L7 intention applies to open connections.
  return { allowed: d.allowed, perRequest: d.allowed && isHttpProtocol(protocol), reason: d.reason };
}

/** `perRequest` false: no L7 permission took part, so every request from this source gets the same answer until the intentions change. */
export function judgeRequest(set: IntentionSet, source: ServiceIdentity, destination: string, req: HttpRequestInfo): { allowed: boolean; reason: string; perRequest: boolean } {
  const d = authorizeRequest(set.intentions, { name: source.service, namespace: source.namespace, partition: source.partition }, { name: destination }, req, {
    defaultAllow: set.defaultAllow,
  });
  return { allowed: d.allowed, reason: d.reason, perRequest: d.hasPermissions };
}
