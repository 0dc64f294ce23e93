/**
 * The attempts of one routed request: pick an endpoint, send, and on a
 * failure or a retriable status try again after a back-off, as the route's
 * retry policy says, until the request's deadline; then hand the answer (or
 * the last failure, or 504) to the caller. Callback-driven, so a request
 * answered on the first attempt costs no promise when the transport has a
 * `start`.
 */
import type { DeadlineSignal } from "./deadline.ts";
import type { ClusterRuntime, Endpoint, Handled, OutboundRequest, Transport, AttemptOutcome } from "./engine.ts";
import { GRPC_STATUS } from "./grpc.ts";
import { applyHeaderModifiers, type Fields } from "./headers.ts";
import type { LegPlan, RoutePlan } from "./plan.ts";
import type { L7Request } from "./request.ts";
import { backoffDelay } from "../../src/util/mod.ts";

type Local = Extract<Handled<never>, { kind: "local" }>;

/** An answer made by the proxy itself (text/plain). */
export const local = (status: number, body: string, extra: Fields = []): Local => ({ kind: "local", status, headers: [["content-type", "text/plain"], ...extra], body });

/** Retry back-off: a random wait below 25 ms (Envoy's base interval), doubling per retry up to 400 ms. */
const RETRY_BACKOFF = { initialMs: 25, maxMs: 400 } as const;

const NO_RETRY_ON: ReadonlySet<string> = new Set();
const NO_RETRY_CODES: ReadonlySet<number> = new Set();

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

export interface AttemptsOptions<R> {
  readonly transport: Transport<R>;
  /** Where the endpoints of the cluster come from (failover order, ejections). */
  readonly engine: { endpoints(c: ClusterRuntime): readonly Endpoint[] };
  readonly req: L7Request;
  readonly out: OutboundRequest;
  readonly cluster: ClusterRuntime;
  readonly leg: LegPlan;
  readonly route: RoutePlan;
  /** The request's deadline; its breaker slot is already taken. */
  readonly deadline: DeadlineSignal & { clear(): void };
  readonly hash: number | null;
  readonly setCookie: string | null;
  readonly random: () => number;
  readonly done: (h: Handled<R>) => void;
}

export class Attempts<R> {
  readonly #o: AttemptsOptions<R>;
  readonly #retries: number;
  readonly #on: ReadonlySet<string>;
  readonly #codes: ReadonlySet<number>;
  #attempt = 0;
  #last: Handled<R> = local(503, "no healthy upstream");
  #released = false;
  /** The endpoint of the attempt in flight (counted in its cluster's active requests), and its cluster's size then. */
  #ep: Endpoint | null = null;
  #eps = 0;
  /** An attempt is out and has not answered yet. */
  #inFlight = false;
  readonly #onOutcome = (res: AttemptOutcome<R>) => this.#outcome(res);

  constructor(o: AttemptsOptions<R>) {
    this.#o = o;
    this.#retries = o.route.retry?.numRetries ?? 0;
    this.#on = o.route.retry?.on ?? NO_RETRY_ON;
    this.#codes = o.route.retry?.statusCodes ?? NO_RETRY_CODES;
  }

  start(): void {
    this.#try();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#o.deadline.clear();
    this.#o.cluster.breaker.releaseRequest();
  }

  #unactive(): void {
    const ep = this.#ep;
    if (!ep) return;
    this.#ep = null;
    const active = this.#o.cluster.active;
    active.set(ep.key, Math.max(0, (active.get(ep.key) ?? 1) - 1));
  }

  #finish(): void {
    this.#release();
    this.#o.done(this.#o.deadline.aborted ? { ...local(504, "upstream request timeout"), grpcStatus: GRPC_STATUS.DEADLINE_EXCEEDED } : this.#last);
  }

  /** The next attempt after a back-off, or the end when the retries are spent. */
  #again(): void {
    this.#attempt++;
    if (this.#attempt > this.#retries) return this.#finish();
    setTimeout(() => this.#try(), Math.floor(this.#o.random() * backoffDelay(this.#attempt - 1, RETRY_BACKOFF)));
  }

  #try(): void {
    const { cluster, deadline, transport } = this.#o;
    if (deadline.aborted) return this.#finish();
    const eps = this.#o.engine.endpoints(cluster);
    const ep = cluster.balancer.pick(eps, this.#o.hash);
    if (!ep) {
      this.#last = local(503, "no healthy upstream");
      return this.#finish();
    }
    cluster.active.set(ep.key, (cluster.active.get(ep.key) ?? 0) + 1);
    this.#ep = ep;
    this.#eps = eps.length;
    this.#inFlight = true;
    try {
      if (transport.start) transport.start(ep, cluster, this.#o.out, deadline, this.#onOutcome);
      else transport.send(ep, cluster, this.#o.out, deadline).then(this.#onOutcome, (err: unknown) => this.#onOutcome({ kind: "failure", reason: "reset", message: String(err) }));
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
    const { cluster, deadline, req, route, leg } = this.#o;
    const ep = this.#ep!;
    const replayable = req.stream?.replayable ?? true;
    if (res.kind === "failure") {
      this.#unactive();
      if (res.reason === "overflow") {
        this.#last = local(503, OVERFLOW, [["x-envoy-overloaded", "true"]]);
        return this.#finish();
      }
      cluster.outlier?.report(ep.key, true, this.#eps);
      this.#last = local(503, `upstream connect error or disconnect/reset before headers. reset reason: ${res.reason === "connect-failure" ? "connection failure" : "connection termination"}`);
      if (deadline.aborted || !retriableFailure(this.#on, res.reason) || !replayable) return this.#finish();
      return this.#again();
    }
    cluster.outlier?.report(ep.key, res.status >= 500, this.#eps);
    if (this.#attempt < this.#retries && !deadline.aborted && replayable && retriableStatus(this.#on, this.#codes, res.status, res.headers)) {
      this.#unactive();
      this.#o.transport.discard(res.response);
      return this.#again();
    }
    const rewritten = leg.responseHeaders !== null || route.responseHeaders !== null || this.#o.setCookie !== null;
    let headers: Fields | null = null;
    const edited = (): Fields => {
      if (headers === null) {
        headers = applyHeaderModifiers(res.headers, [leg.responseHeaders, route.responseHeaders]);
        if (this.#o.setCookie) headers.push(["set-cookie", this.#o.setCookie]);
      }
      return headers;
    };
    this.#o.done({
      kind: "upstream",
      status: res.status,
      // Read when a front asks (one that passes the upstream's head on as it came never does).
      get headers(): Fields {
        return rewritten ? edited() : res.headers;
      },
      response: res.response,
      signal: deadline,
      idleTimeoutMs: route.idleTimeoutMs,
      rewritten,
      done: () => {
        this.#unactive();
        this.#release();
      },
    });
  }
}
