/**
 * The direct lane: `GET /v1/kv/<key>` answered from the listener's own
 * request object, ahead of the router, its middleware and the fetch
 * `Request`/`Response` pair, which cost several times the read itself
 * (bench/kv/README.md has the profile). Every answer is the one app.ts's
 * pipeline gives for the same request, headers included (test/http/direct.test.ts
 * compares the two). Blocking reads park here too, the ones that want the
 * same answer sharing one wait and one answer (shared_waits.ts), so one write
 * wakes thousands of watchers at the cost of a write each. A request the lane does
 * not take whole (another path or method, a blocking read of another
 * datacenter, a path the URL parser or Go's ServeMux would
 * rewrite, a refusal, a read that fails at once) returns null, before anything
 * is done, and goes through the app.
 */
import type { DirectAnswer, DirectHandler, DirectRequest } from "../runtime/serve.ts";
import type { ApiContext } from "./context.ts";
import { directFinish } from "./direct_answer.ts";
import { keyOfPath, type KvAnswer, kvRead } from "./kv.ts";
import { pathLabel, type RequestMetrics } from "./metrics.ts";
import { parseQueryOptions, type QueryOptions, tokenOfRequest } from "./query.ts";
import { SharedWaits } from "./shared_waits.ts";

const KV_PREFIX = "/v1/kv/";
/** The label the router's metrics give `/v1/kv/*`. */
const KV_LABEL = pathLabel("/v1/kv/*");
/**
 * Paths the URL parser hands over unchanged (no percent-escapes, nothing it
 * would encode) and ServeMux would not redirect (no `//`, no dot segments; a
 * key segment that starts with a dot also goes the long way).
 */
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const NO_QUERY = { search: "", searchParams: new URLSearchParams() } as const;

export function directReads(api: ApiContext, requests: RequestMetrics): DirectHandler {
  const dev = api.agent.devMode === true;
  const answers = directFinish(api);
  const finish = (accept: string | undefined, a: KvAnswer, policy: string): DirectAnswer => answers.text(a.status, a.headers, a.body, policy, accept);
  const failed = (err: unknown, policy: string, accept: string | undefined): DirectAnswer => answers.failed(err, policy, accept);

  const record = (started: number): void => requests.record("GET", KV_LABEL, performance.now() - started);
  const waits = new SharedWaits(record);

  return (req) => {
    if (req.method !== "GET") return null;
    const target = req.target;
    if (!target.startsWith(KV_PREFIX)) return null;
    const started = performance.now();
    const at = target.indexOf("?");
    const path = at < 0 ? target : target.slice(0, at);
    if (!PLAIN_PATH.test(path) || path.includes("//") || path.includes("/.")) return null;
    const query = at < 0 ? "" : target.slice(at + 1);
    const params = query === "" ? null : new URLSearchParams(query);
    const token = tokenOfRequest(params, (name) => req.header(name));
    if (!api.authorizer.authorize({ token, method: "GET", path })) return null;
    let key: string;
    let q: QueryOptions;
    try {
      key = keyOfPath(path);
      q = parseQueryOptions(params === null ? NO_QUERY : { search: `?${query}`, searchParams: params }, api.agent.datacenter);
    } catch {
      return null; // the app answers what is wrong with it
    }
    // A blocking read for another datacenter is cancelled there when the client goes away: the app's.
    if (q.minIndex > 0 && q.datacenter !== api.agent.datacenter) return null;
    const policy = answers.policy();
    const acl = api.acl;
    if (acl?.enabled) {
      const effective = token || acl.defaultToken;
      if (effective) q = { ...q, token: effective };
    }
    const accept = req.header("accept-encoding");
    const search = params ?? NO_QUERY.searchParams;
    const pretty = dev || q.pretty;
    const read = (o: QueryOptions): DirectAnswer | Promise<DirectAnswer> =>
      kvRead(api, key, search, o, pretty, { answered: (a) => finish(accept, a, policy), failed: (err) => failed(err, policy, accept) });
    try {
      if (q.minIndex > 0) {
        const opts = q;
        return waits.park(sharedId(path, search, opts, policy, accept), q.waitMs, {
          blocking: (waitMs, signal) => read({ ...opts, waitMs, signal }),
          now: () => read({ ...opts, minIndex: 0 }),
        }, started);
      }
      const a = read(q);
      if (a instanceof Promise) return a.finally(() => record(started));
      record(started);
      return a;
    } catch {
      return null; // reads change nothing: the app reads again and answers the error
    }
  };
}

/** What makes two parked reads want the same answer: all but `?wait=`. */
function sharedId(path: string, params: URLSearchParams, q: QueryOptions, policy: string, accept: string | undefined): string {
  const rest = new URLSearchParams(params);
  rest.delete("wait");
  return `${path}?${rest.toString()}\n${q.token ?? ""}\n${policy}\n${accept ?? ""}`;
}
