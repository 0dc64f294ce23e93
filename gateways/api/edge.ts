/**
 * The API gateway at the edge: an ES module worker (workerd, Cloudflare
 * Workers) running the same fetch handler as the gateway process. Its
 * table comes from Consulate's HTTP API through the `CONSUL` service
 * binding (with the token of `CONFIG`), refreshed by blocking queries kept
 * alive with `waitUntil`; the last good table stays when a refresh fails.
 * Each attempt goes to the datacenter's edge relay through the `RELAY`
 * binding: mutual TLS with the gateway's leaf as client certificate and a
 * relay certificate checked against a DNS name (see gateways/api/README.md).
 */
import { servedOn } from "../../src/configentry/gateway_status.ts";
import type { EntryBody } from "../../src/configentry/kinds/kind.ts";
import type { AttemptOutcome, ClusterRuntime, Endpoint, OutboundRequest, Transport } from "../l7/engine.ts";
import { abortSignalOf, type DeadlineSignal } from "../l7/deadline.ts";
import { GatewayHandler, type Upstream } from "./handler.ts";
import { JwtVerifier } from "./jwt.ts";
import { TARGET_HEADER } from "./relay.ts";
import { type HttpApi, loadConfig, waitForChange } from "./source.ts";
import { buildListenerTable } from "./table.ts";

interface Fetcher {
  fetch(input: Request | string, init?: RequestInit): Promise<Response>;
}

export interface EdgeEnv {
  readonly CONSUL: Fetcher;
  readonly RELAY: Fetcher;
  /** JSON: { gateway, listener, token?, datacenter? } */
  readonly CONFIG: string;
}

interface ExecutionContext {
  waitUntil(p: Promise<unknown>): void;
}

interface EdgeSettings {
  readonly gateway: string;
  readonly listener: string;
  readonly token?: string;
  readonly datacenter?: string;
}

/** Each attempt is one request to the relay, naming the target the table chose. */
class RelayTransport implements Transport<Upstream> {
  readonly #relay: Fetcher;

  constructor(relay: Fetcher) {
    this.#relay = relay;
  }

  async send(ep: Endpoint, _cluster: ClusterRuntime, req: OutboundRequest, signal: DeadlineSignal): Promise<AttemptOutcome<Response>> {
    const headers = new Headers();
    for (const [k, v] of req.headers) if (k.toLowerCase() !== "content-length") headers.append(k, v);
    headers.set(TARGET_HEADER, ep.target.id);
    try {
      const res = await this.#relay.fetch(`https://relay${req.target}`, { method: req.method, headers, ...(req.body.length > 0 ? { body: req.body.slice() } : {}), signal: abortSignalOf(signal) });
      const fields: [string, string][] = [];
      res.headers.forEach((v, k) => fields.push([k, v]));
      return { kind: "response", status: res.status, headers: fields, response: res };
    } catch (err) {
      return { kind: "failure", reason: signal.aborted ? "reset" : "connect-failure", message: String(err) };
    }
  }

  discard(r: Upstream): void {
    if (r instanceof Response) void r.body?.cancel().catch(() => {});
  }
}

/** What one worker isolate keeps between requests. */
class EdgeGateway {
  readonly #settings: EdgeSettings;
  readonly #api: HttpApi;
  readonly #verifier = new JwtVerifier();
  readonly handler: GatewayHandler;
  #index = 0;
  #loaded: Promise<void> | null = null;
  #refreshing: Promise<void> | null = null;
  lastError = "";

  constructor(env: EdgeEnv) {
    this.#settings = JSON.parse(env.CONFIG) as EdgeSettings;
    const consul = env.CONSUL;
    this.#api = {
      base: "http://consul",
      ...(this.#settings.token ? { token: this.#settings.token } : {}),
      ...(this.#settings.datacenter ? { datacenter: this.#settings.datacenter } : {}),
      fetch: ((input: string, init?: RequestInit) => consul.fetch(input, init)) as typeof fetch,
    };
    this.handler = new GatewayHandler({ transport: new RelayTransport(env.RELAY), instances: () => [{ address: "relay", port: 443 }], verifier: this.#verifier });
  }

  async #load(): Promise<void> {
    const cfg = await loadConfig(this.#api, this.#settings.gateway);
    const gw = cfg.gateway as EntryBody | null;
    if (!gw) throw new Error(`no api-gateway ${JSON.stringify(this.#settings.gateway)}`);
    this.#verifier.setProviders(cfg.providers);
    const routes = cfg.httpRoutes.filter((r) => servedOn(r, gw, this.#settings.listener));
    this.handler.setTable(buildListenerTable(gw, this.#settings.listener, routes, cfg.chains));
    this.#index = Math.max(this.#index, cfg.index);
  }

  /** The first request waits for a table; later ones start (at most) one blocking refresh in the background. */
  async ready(ctx: ExecutionContext): Promise<void> {
    if (!this.handler.table) {
      this.#loaded ??= this.#load().finally(() => (this.#loaded = null));
      await this.#loaded;
      return;
    }
    if (this.#refreshing) return;
    this.#refreshing = (async () => {
      try {
        const index = await waitForChange(this.#api, this.#index, 2_000);
        if (index !== this.#index) await this.#load();
        this.lastError = "";
      } catch (err) {
        // Keep serving the last good table.
        this.lastError = String(err);
      }
    })().finally(() => (this.#refreshing = null));
    ctx.waitUntil(this.#refreshing);
  }
}

let gateway: EdgeGateway | null = null;

export default {
  async fetch(request: Request, env: EdgeEnv, ctx: ExecutionContext): Promise<Response> {
    gateway ??= new EdgeGateway(env);
    try {
      await gateway.ready(ctx);
    } catch (err) {
      if (!gateway.handler.table) return new Response(`gateway config not loaded: ${String(err)}`, { status: 503, headers: { "content-type": "text/plain" } });
    }
    return gateway.handler.fetch(request, request.headers.get("cf-connecting-ip") ?? "");
  },
};
