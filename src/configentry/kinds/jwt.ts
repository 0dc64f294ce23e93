/**
 * `jwt-provider` (config_entry_jwt_provider.go) and the JWT requirement that
 * api-gateway listeners and http-route filters carry
 * (APIGatewayJWTRequirement in config_entry_gateways.go).
 */
import { meta } from "./common.ts";
import { arr, fail, type KindDef, metaProblems, n, o, type Obj, Problems, s, smap } from "./kind.ts";
import { bool, durationNs, int, list, ptr, str, struct } from "../schema.ts";

export const jwtClaimVerification = struct(["Path", list(str), "o"], ["Value", str, "o"]);
export const jwtProviderRef = struct(["Name", str, "o"], ["VerifyClaims", list(ptr(jwtClaimVerification)), "o", ["verify_claims"]]);
export const jwtRequirement = struct(["Providers", list(ptr(jwtProviderRef)), "o"]);

const localJwks = struct(["JWKS", str, "o", ["jwks"]], ["Filename", str, "o"]);
const backOff = struct(["BaseInterval", durationNs, "o"], ["MaxInterval", durationNs, "o"]);
const trustedCa = struct(["Filename", str, "o"], ["EnvironmentVariable", str, "o"], ["InlineString", str, "o"], ["InlineBytes", str, "o"]);
const jwksCluster = struct(
  ["DiscoveryType", str, "o"],
  ["TLSCertificates", ptr(struct(["CaCertificateProviderInstance", ptr(struct(["InstanceName", str, "o"], ["CertificateName", str, "o"])), "o"], ["TrustedCA", ptr(trustedCa), "o", ["trusted_ca"]])), "o", ["tls_certificates"]],
  ["ConnectTimeout", durationNs, "o"],
);
const remoteJwks = struct(
  ["URI", str, "o", ["uri"]],
  ["RequestTimeoutMs", int, "o"],
  ["CacheDuration", durationNs, "o"],
  ["FetchAsynchronously", bool, "o"],
  ["RetryPolicy", ptr(struct(["NumRetries", int, "o"], ["RetryPolicyBackOff", ptr(backOff), "o"])), "o"],
  ["JWKSCluster", ptr(jwksCluster), "o", ["jwks_cluster"]],
);
const location = struct(
  ["Header", ptr(struct(["Name", str, "o"], ["ValuePrefix", str, "o"], ["Forward", bool, "o"])), "o"],
  ["QueryParam", ptr(struct(["Name", str, "o"])), "o"],
  ["Cookie", ptr(struct(["Name", str, "o"])), "o"],
);
export const jwtProviderSchema = struct(
  ["Kind", str, "o"],
  ["Name", str, "o"],
  ["JSONWebKeySet", ptr(struct(["Local", ptr(localJwks), "o"], ["Remote", ptr(remoteJwks), "o"])), "o", ["json_web_key_set"]],
  ["Issuer", str, "o"],
  ["Audiences", list(str), "o"],
  ["Locations", list(ptr(location)), "o"],
  ["Forwarding", ptr(struct(["HeaderName", str, "o"], ["PadForwardPayloadHeader", bool])), "o"],
  ["ClockSkewSeconds", int, "o"],
  ["CacheConfig", ptr(struct(["Size", int, "o"])), "o"],
  meta,
);

export const DEFAULT_CLOCK_SKEW_SECONDS = 30;

const count = (...v: boolean[]): number => v.filter(Boolean).length;

function isBase64(text: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0;
}

function locationProblem(l: Obj): string | null {
  const header = o(l, "Header");
  const query = o(l, "QueryParam");
  const cookie = o(l, "Cookie");
  if (count(!!header, !!query, !!cookie) !== 1) return "must set exactly one of: JWT location header, query param or cookie";
  if (header && s(header, "Name") === "") return "JWT location header name must be specified";
  if (cookie && s(cookie, "Name") === "") return "JWT location cookie name must be specified";
  if (query && s(query, "Name") === "") return "JWT location query param name must be specified";
  return null;
}

function remoteProblem(r: Obj): string | null {
  const uri = s(r, "URI");
  if (uri === "") return "Remote JWKS URI is required";
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/?[^\s]*$/.test(uri) && !uri.startsWith("/")) return `Remote JWKS URI is invalid: parse ${JSON.stringify(uri)}: invalid URI for request, uri: ${uri}`;
  const bo = o(o(r, "RetryPolicy"), "RetryPolicyBackOff");
  if (bo && n(bo, "MaxInterval") !== 0 && n(bo, "BaseInterval") > n(bo, "MaxInterval")) return "retry policy backoff's MaxInterval should be greater or equal to BaseInterval";
  const cluster = o(r, "JWKSCluster");
  if (cluster) {
    const dt = s(cluster, "DiscoveryType");
    if (dt !== "" && !["STRICT_DNS", "STATIC", "LOGICAL_DNS", "EDS", "ORIGINAL_DST"].includes(dt)) return `unsupported jwks cluster discovery type: ${JSON.stringify(dt)}`;
    const tls = o(cluster, "TLSCertificates");
    if (tls) {
      const ca = o(tls, "TrustedCA");
      if (count(!!o(tls, "CaCertificateProviderInstance"), !!ca) !== 1) return "must specify exactly one of: CaCertificateProviderInstance or TrustedCA for JKWS' TLSCertificates";
      if (ca && count(s(ca, "Filename") !== "", s(ca, "EnvironmentVariable") !== "", s(ca, "InlineString") !== "", s(ca, "InlineBytes") !== "") !== 1) {
        return "must specify exactly one of: Filename, EnvironmentVariable, InlineString or InlineBytes for JWKS' TrustedCA";
      }
    }
  }
  return null;
}

export const jwtProvider: KindDef = {
  kind: "jwt-provider",
  schema: jwtProviderSchema,
  normalize(e) {
    e.Kind = "jwt-provider";
    if (n(e, "ClockSkewSeconds") === 0) e.ClockSkewSeconds = DEFAULT_CLOCK_SKEW_SECONDS;
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    const mp = new Problems();
    mp.addAll(metaProblems(smap(e, "Meta")));
    mp.throwIfAny();
    const set = o(e, "JSONWebKeySet");
    if (!set) fail("JSONWebKeySet is required");
    const local = o(set, "Local");
    const remote = o(set, "Remote");
    if (count(!!local, !!remote) !== 1) fail("must specify exactly one of Local or Remote JSON Web key set");
    if (remote) {
      const p = remoteProblem(remote);
      if (p) fail(p);
    } else if (local) {
      if (count(s(local, "Filename") !== "", s(local, "JWKS") !== "") !== 1) fail("must specify exactly one of String or filename for local keyset");
      if (s(local, "JWKS") !== "" && !isBase64(s(local, "JWKS"))) fail("JWKS must be valid base64 encoded string");
    }
    const lp = new Problems();
    for (const l of arr(e, "Locations")) {
      const p = locationProblem(l);
      if (p) lp.add(p);
    }
    lp.throwIfAny();
    const fwd = o(e, "Forwarding");
    if (fwd && s(fwd, "HeaderName") === "") fail("Header name required for forwarding config");
  },
};
