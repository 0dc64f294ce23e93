/**
 * The attempts of one routed request: pick an endpoint, send, and on a
 * failure or a retriable status try again after a back-off, as the route's
 * retry policy says, until the request's deadline; then hand the answer (or
 * the last failure, or 504) to the caller. Callback-driven, so a request
 * answered on the first attempt costs no promise when the transport has a
 * `start`.
 */
import type { DeadlineSignal } from "./deadline.ts";
import type { ClusterRuntime, Endpoint, Handled, LegRuntime, OutboundRequest, Transport, AttemptOutcome } from "./engine.ts";
import { GRPC_STATUS } from "./grpc.ts";
import { applyHeaderModifiers, type Fields } from "./headers.ts";
import type { L7Request } from "./request.ts";
import { backoffDelay } from "../../src/util/mod.ts";

type Local = Extract<Handled<never>, { kind: "local" }>;

/** An answer made by the proxy itself (text/plain). */
export const local = (status: number, body: string, extra: Fields = []): Local => ({ kind: "local", status, headers: [["content-type", "text/plain"], ...extra], body });

/** Retry back-off: a random wait below 25 ms (Envoy's base interval), doubling per retry up to 400 ms. */
const RETRY_BACKOFF = { initialMs: 25, maxMs: 400 } as const;

export const NO_RETRY_ON: ReadonlySet<string> = new Set();
export const NO_RETRY_CODES: ReadonlySet<number> = new Set();

const GRPC_RETRY: Record<string, string> = { "1": "cancelled", "4": "deadline-exceeded", "8": "resource-exhausted", "13": "internal", "14": "unavailable" };

function retriableStatus(on: ReadonlySet<string>, codes: ReadonlySet<number>, status: number, headers: Fields): boolean {
  if (on.has("5xx") && status >= 500) return true;
  if (on.has("gateway-error") && (status === 502 || status === 503 || status === 504)) return true;
  if (on.has("retriable-4xx") && status === 409) return true;
  if (on.has("retriable-status-codes") && codes.has(status)) return true;
  const grpc = headers.find(([k]) => k.toLowerCase() === "grpc-status")?.[1];
  if (grpc !== undefined && GRPC_RETRY[grpc] && on.has(GRPC_RETRY[grpc]!)) return true;
  return false;
}

function retriableFailure(on: ReadonlySet<string>, reason: "connect-failure" | "reset" | "overflow"): boolean {
  if (reason === "overflow") return false;
  if (on.has("5xx") || on.has("gateway-error") || on.has("reset")) return true;
  return reason === "connect-failure" && on.has("connect-failure");
}

const OVERFLOW = "upstream connect error or disconnect/reset before headers. reset reason: overflow";

/** What attempts need of the engine. */
export interface AttemptsContext<R> {
  readonly transport: Transport<R>;
  readonly random: () => number;
  /** The endpoints of the cluster (failover order, ejections). */
  endpoints(c: ClusterRuntime): readonly Endpoint[];
}

export class Attempts<R> {
  readonly #ctx: AttemptsContext<R>;
  readonly #leg: LegRuntime;
  readonly #req: L7Request;
  readonly #out: OutboundRequest;
  /** The request's deadline; its breaker slot is already taken. */
  readonly #deadline: DeadlineSignal & { clear(): void };
  readonly #hash: number | null;
  readonly #setCookie: string | null;
  readonly #done: (h: Handled<R>) => void;
  #attempt = 0;
  #last: Handled<R> | null = null;
  #released = false;
  /** The endpoint of the attempt in flight (counted in its cluster's active requests), and its cluster's size then. */
  #ep: Endpoint | null = null;
  #eps = 0;
  /** An attempt is out and has not answered yet. */
  #inFlight = false;
  readonly #onOutcome = (res: AttemptOutcome<R>) => this.#outcome(res);

  constructor(ctx: AttemptsContext<R>, leg: LegRuntime, req: L7Request, out: OutboundRequest, deadline: DeadlineSignal & { clear(): void }, hash: number | null, setCookie: string | null, done: (h: Handled<R>) => void) {
    this.#ctx = ctx;
    this.#leg = leg;
    this.#req = req;
    this.#out = out;
    this.#deadline = deadline;
    this.#hash = hash;
    this.#setCookie = setCookie;
    this.#done = done;
  }

  start(): void {
    this.#try();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#deadline.clear();
    this.#leg.cluster.breaker.releaseRequest();
  }

  #unactive(): void {
    const ep = this.#ep;
    if (!ep) return;
    this.#ep = null;
    const active = this.#leg.cluster.active;
    active.set(ep.key, Math.max(0, (active.get(ep.key) ?? 1) - 1));
  }

  #finish(): void {
    this.#release();
    this.#done(this.#deadline.aborted ? { ...local(504, "upstream request timeout"), grpcStatus: GRPC_STATUS.DEADLINE_EXCEEDED } : (this.#last ?? local(503, "no healthy upstream")));
  }

  /** The next attempt after a back-off, or the end when the retries are spent. */
  #again(): void {
    this.#attempt++;
    if (this.#attempt > this.#leg.retries) return this.#finish();
    setTimeout(() => this.#try(), Math.floor(this.#ctx.random() * backoffDelay(this.#attempt - 1, RETRY_BACKOFF)));
  }

  #try(): void {
    const cluster = this.#leg.cluster;
    const deadline = this.#deadline;
    const transport = this.#ctx.transport;
    if (deadline.aborted) return this.#finish();
    const eps = this.#ctx.endpoints(cluster);
    const ep = cluster.balancer.pick(eps, this.#hash);
    if (!ep) {
      this.#last = local(503, "no healthy upstream");
      return this.#finish();
    }
    cluster.active.set(ep.key, (cluster.active.get(ep.key) ?? 0) + 1);
    this.#ep = ep;
    this.#eps = eps.length;
    this.#inFlight = true;
    try {
      if (transport.start) transport.start(ep, cluster, this.#out, deadline, this.#onOutcome);
      else transport.send(ep, cluster, this.#out, deadline).then(this.#onOutcome, (err: unknown) => this.#onOutcome({ kind: "failure", reason: "reset", message: String(err) }));
    } catch (err) {
      // A transport that threw before answering failed this attempt; a throw after its answer is the caller's.
      if (!this.#inFlight) throw err;
      this.#onOutcome({ kind: "failure", reason: "reset", message: String(err) });
    }
  }

  #outcome(res: AttemptOutcome<R>): void {
    // One outcome per attempt.
    if (!this.#inFlight) return;
    this.#inFlight = false;
    const { cluster, retries, retryOn, retryCodes } = this.#leg;
    const deadline = this.#deadline;
    const ep = this.#ep!;
    const replayable = this.#req.stream?.replayable ?? true;
    if (res.kind === "failure") {
      this.#unactive();
      if (res.reason === "overflow") {
        this.#last = local(503, OVERFLOW, [["x-envoy-overloaded", "true"]]);
        return this.#finish();
      }
      cluster.outlier?.report(ep.key, true, this.#eps);
      this.#last = local(503, `upstream connect error or disconnect/reset before headers. reset reason: ${res.reason === "connect-failure" ? "connection failure" : "connection termination"}`);
      if (deadline.aborted || !retriableFailure(retryOn, res.reason) || !replayable) return this.#finish();
      return this.#again();
    }
    cluster.outlier?.report(ep.key, res.status >= 500, this.#eps);
    if (this.#attempt < retries && !deadline.aborted && replayable && retriableStatus(retryOn, retryCodes, res.status, res.headers)) {
      this.#unactive();
      this.#ctx.transport.discard(res.response);
      return this.#again();
    }
    this.#done(new UpstreamAnswer(this, res, this.#leg.modifiesResponse || this.#setCookie !== null));
  }

  /** The response's head as the route and leg modify it (and a generated cookie). */
  editedHeaders(res: Fields): Fields {
    const { leg, route } = this.#leg;
    const headers = applyHeaderModifiers(res, [leg.responseHeaders, route.responseHeaders]);
    if (this.#setCookie) headers.push(["set-cookie", this.#setCookie]);
    return headers;
  }

  /** The answer's body is through (or failed): its endpoint and breaker slots are free. */
  bodyDone(): void {
    this.#unactive();
    this.#release();
  }

  get signal(): DeadlineSignal {
    return this.#deadline;
  }

  get idleTimeoutMs(): number {
    return this.#leg.route.idleTimeoutMs;
  }
}

/**
 * An upstream's answer handed to the front. A class, not an object literal
 * with getters (one shape for every answer): its headers are worked out when
 * a front asks, and one that passes the upstream's head on as it came never does.
 */
class UpstreamAnswer<R> {
  readonly kind = "upstream";
  readonly status: number;
  readonly response: R;
  readonly signal: DeadlineSignal;
  readonly idleTimeoutMs: number;
  readonly rewritten: boolean;
  readonly #attempts: Attempts<R>;
  readonly #res: Extract<AttemptOutcome<R>, { kind: "response" }>;
  #edited: Fields | null = null;

  constructor(attempts: Attempts<R>, res: Extract<AttemptOutcome<R>, { kind: "response" }>, rewritten: boolean) {
    this.status = res.status;
    this.response = res.response;
    this.signal = attempts.signal;
    this.idleTimeoutMs = attempts.idleTimeoutMs;
    this.rewritten = rewritten;
    this.#attempts = attempts;
    this.#res = res;
  }

  get headers(): Fields {
    if (!this.rewritten) return this.#res.headers;
    return (this.#edited ??= this.#attempts.editedHeaders(this.#res.headers));
  }

  done(): void {
    this.#attempts.bodyDone();
  }
}
