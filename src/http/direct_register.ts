/**
 * The direct lane for writes: `PUT /v1/catalog/register` answered from the
 * listener's own request object, ahead of the router, its middleware and the
 * fetch `Request`/`Response` pair (on Node, @hono/node-server's request
 * building and the router cost about as much as the write itself). What it
 * does between reading the body and answering is the route's own code
 * (catalog.ts): the same body decoding and limits, the same RPC (ACLs, `?dc`
 * forwarding, validation and the state store's apply all happen behind it),
 * the same answer and error texts (direct_answer.ts); test/http/direct_register.test.ts
 * compares the two lanes byte for byte.
 *
 * A request the lane does not take whole returns null before anything is done
 * (the body is not touched) and goes through the app: another path or method,
 * a query the URL parser would rewrite or that does not parse, a body without
 * a Content-Length or over the limit, a refusal by the authorizer, a blocking
 * write for another datacenter.
 */
import type { DirectAnswer, DirectHandler } from "../runtime/serve.ts";
import { type ApiContext, bodyLate, DEFAULT_BODY_READ_TIMEOUT_MS, JSON_BODY_LIMIT, jsonOfBytes, jsonText } from "./context.ts";
import { decodeRegister } from "./decode_catalog.ts";
import { directFinish } from "./direct_answer.ts";
import { pathLabel, type RequestMetrics } from "./metrics.ts";
import { parseQueryOptions, type QueryOptions, tokenOfRequest } from "./query.ts";

const PATH = "/v1/catalog/register";
const LABEL = pathLabel(PATH);
/** `?` */
const QUESTION = 0x3f;
/**
 * A query the URL parser keeps as sent (it percent-encodes space, quotes,
 * `<`, `>`, `'` and non-ASCII, and cuts at `#`), so the parameters read here
 * are the ones the app reads.
 */
const PLAIN_QUERY = /^[A-Za-z0-9\-._~!$&()*+,;=:@/?%]*$/;
const DECIMAL = /^\d+$/;
const NO_QUERY = { search: "", searchParams: new URLSearchParams() } as const;
const JSON_TYPE = "application/json";

export interface DirectRegisterOptions {
  /** `limits.http_read_timeout`: how long the body may take to arrive (30 s when absent), as the app is told. */
  readonly readTimeoutMs?: number;
}

export function directRegister(api: ApiContext, requests: RequestMetrics, options: DirectRegisterOptions = {}): DirectHandler {
  const dc = api.agent.datacenter;
  const dev = api.agent.devMode === true;
  const readTimeoutMs = options.readTimeoutMs ?? DEFAULT_BODY_READ_TIMEOUT_MS;
  const answers = directFinish(api);

  return (req) => {
    if (req.method !== "PUT") return null;
    const target = req.target;
    if (!target.startsWith(PATH)) return null;
    let query = "";
    if (target.length > PATH.length) {
      if (target.charCodeAt(PATH.length) !== QUESTION) return null;
      query = target.slice(PATH.length + 1);
      if (!PLAIN_QUERY.test(query)) return null;
    }
    // A chunked body, or one past the limit, is the app's to read (and refuse).
    const length = req.header("content-length");
    if (length === undefined || !DECIMAL.test(length) || Number(length) > JSON_BODY_LIMIT) return null;
    if (req.header("transfer-encoding") !== undefined) return null;
    const started = performance.now();
    const params = query === "" ? null : new URLSearchParams(query);
    const token = tokenOfRequest(params, (name) => req.header(name));
    if (!api.authorizer.authorize({ token, method: "PUT", path: PATH })) return null;
    let q: QueryOptions;
    try {
      q = parseQueryOptions(params === null ? NO_QUERY : { search: `?${query}`, searchParams: params }, dc);
    } catch {
      return null; // the app answers what is wrong with it
    }
    // The app hands such a request the client's hang-up as a signal to cancel it with.
    if (q.minIndex > 0 && q.datacenter !== dc) return null;
    const acl = api.acl;
    if (acl?.enabled) {
      const effective = token || acl.defaultToken;
      if (effective) q = { ...q, token: effective };
    }
    const policy = answers.policy();
    const accept = req.header("accept-encoding");
    const pretty = dev || q.pretty;
    const opts = q;
    const give = (a: DirectAnswer): DirectAnswer => {
      requests.record("PUT", LABEL, performance.now() - started);
      return a;
    };
    // A promise, not a LaterAnswer: the answer is this request's own, nothing to share with others.
    return req
      .body(readTimeoutMs)
      .then((bytes) => {
        if (bytes === null) throw bodyLate(readTimeoutMs);
        return api.rpc.call("Catalog.Register", decodeRegister(jsonOfBytes(bytes), dc), opts);
      })
      .then(
        (result) => give(answers.text(200, { "Content-Type": JSON_TYPE }, jsonText(result, pretty), policy, accept)),
        (err: unknown) => give(answers.failed(err, policy, accept)),
      );
  };
}
