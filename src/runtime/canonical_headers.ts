/**
 * Go's net/http sends every header name in canonical MIME form
 * (`X-Consul-Index`, `X-Consul-Knownleader`), and scripts match Consul's
 * headers case-sensitively. Fetch `Headers` hand names out lower-cased, and
 * Node and Deno put them on the wire as handed out, so responses are rebuilt
 * with canonical names before they leave.
 */

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Go's `textproto.CanonicalMIMEHeaderKey`: names that are not tokens stay as they are. */
export function canonicalHeaderKey(name: string): string {
  if (!TOKEN.test(name)) return name;
  let out = "";
  let upper = true;
  for (const ch of name) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === "-";
  }
  return out;
}

/** The same response with canonical header names (values, status and body untouched). */
export function withCanonicalHeaders(res: Response): Response {
  const pairs: [string, string][] = [];
  res.headers.forEach((value, name) => {
    if (name !== "set-cookie") pairs.push([canonicalHeaderKey(name), value]);
  });
  for (const cookie of res.headers.getSetCookie()) pairs.push(["Set-Cookie", cookie]);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: pairs });
}
