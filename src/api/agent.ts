/** The agent endpoints (`/v1/agent/*`), as the Go client's `api.Agent`. */
import type { Client } from "./client.ts";
import { ApiDecodeError, ApiError } from "./errors.ts";
import { agentConnectCALeaf, agentConnectCARoots, type CARootList, type LeafCert } from "./connect_ca.ts";
import { encodeJson } from "./json.ts";
import type { QueryMeta, QueryOptions, WriteOptions } from "./options.ts";
import { type AgentService, asArray, type HealthCheck, type ServiceAddress, type Weights } from "./types.ts";

/** Serf member status codes, as `serf.MemberStatus`. */
export const MemberStatus = { None: 0, Alive: 1, Leaving: 2, Left: 3, Failed: 4 } as const;
export type MemberStatus = (typeof MemberStatus)[keyof typeof MemberStatus];

/** Tag keys agents gossip about themselves. */
export const MemberTag = {
  Role: "role",
  RoleServer: "consul",
  RoleClient: "node",
  Datacenter: "dc",
  Segment: "segment",
  Partition: "ap",
  Build: "build",
  Version: "vsn",
} as const;

export interface AgentMember {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  /** See `MemberStatus`. */
  Status: number;
  ProtocolMin: number;
  ProtocolMax: number;
  ProtocolCur: number;
  DelegateMin: number;
  DelegateMax: number;
  DelegateCur: number;
}

export interface MembersOptions {
  readonly wan?: boolean;
  /** LAN segment, or "_all". */
  readonly segment?: string;
  readonly filter?: string;
}

/** A check as part of a service registration (Go's `api.AgentServiceCheck`); durations are Go strings. */
export interface AgentServiceCheck {
  CheckID?: string;
  Name?: string;
  Args?: string[];
  Interval?: string;
  Timeout?: string;
  TTL?: string;
  HTTP?: string;
  Header?: Record<string, string[]>;
  Method?: string;
  Body?: string;
  TCP?: string;
  UDP?: string;
  GRPC?: string;
  GRPCUseTLS?: boolean;
  H2PING?: string;
  AliasNode?: string;
  AliasService?: string;
  TLSServerName?: string;
  TLSSkipVerify?: boolean;
  Status?: string;
  Notes?: string;
  SuccessBeforePassing?: number;
  FailuresBeforeWarning?: number;
  FailuresBeforeCritical?: number;
  DeregisterCriticalServiceAfter?: string;
}

/** `PUT /v1/agent/service/register` body (Go's `api.AgentServiceRegistration`). */
export interface AgentServiceRegistration {
  Kind?: string;
  ID?: string;
  Name: string;
  Tags?: string[];
  Port?: number;
  Address?: string;
  SocketPath?: string;
  TaggedAddresses?: Record<string, ServiceAddress>;
  EnableTagOverride?: boolean;
  Meta?: Record<string, string>;
  Weights?: Weights;
  Check?: AgentServiceCheck;
  Checks?: AgentServiceCheck[];
  Proxy?: Record<string, unknown>;
  Connect?: Record<string, unknown>;
  Token?: string;
}

/** `PUT /v1/agent/check/register` body (Go's `api.AgentCheckRegistration`). */
export interface AgentCheckRegistration extends AgentServiceCheck {
  ID?: string;
  Name: string;
  ServiceID?: string;
}

/** One local service and the checks that decide its health (`/v1/agent/health/service/*`). */
export interface AgentServiceChecksInfo {
  AggregatedStatus: string;
  Service: AgentService | null;
  Checks: HealthCheck[] | null;
}

/** `/v1/agent/self`: sections (`Config`, `Member`, `Stats`...) of loosely typed values. */
export type AgentSelf = Record<string, Record<string, unknown>>;

export class Agent {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /** GET /v1/agent/connect/ca/roots (Go's Agent.ConnectCARoots): cached at the agent, blocking. */
  async connectCARoots(q?: QueryOptions): Promise<[CARootList, QueryMeta]> {
    return agentConnectCARoots(this.c, q);
  }

  /** GET /v1/agent/connect/ca/leaf/:service (Go's Agent.ConnectCALeaf): blocks until the leaf is renewed or re-issued. */
  async connectCALeaf(service: string, q?: QueryOptions): Promise<[LeafCert, QueryMeta]> {
    return agentConnectCALeaf(this.c, service, q);
  }

  async self(q?: QueryOptions): Promise<AgentSelf> {
    const [self] = await this.c.query("/v1/agent/self", q, (j) => (j ?? {}) as AgentSelf);
    return self;
  }

  /** The agent's node name (`Config.NodeName` of `self`). */
  async nodeName(): Promise<string> {
    const self = await this.self();
    const name = self.Config?.NodeName;
    if (typeof name !== "string") throw new ApiDecodeError("Agent self has no Config.NodeName", "/v1/agent/self");
    return name;
  }

  async members(wan = false): Promise<AgentMember[]> {
    return this.membersOpts({ wan });
  }

  async membersOpts(options: MembersOptions): Promise<AgentMember[]> {
    const params: (readonly [string, string])[] = [];
    if (options.segment) params.push(["segment", options.segment]);
    if (options.wan) params.push(["wan", "1"]);
    if (options.filter) params.push(["filter", options.filter]);
    const [members] = await this.c.query("/v1/agent/members", undefined, (j) => asArray<AgentMember>(j), params);
    return members;
  }

  /** The agent's own services, by ID. */
  async services(q?: QueryOptions): Promise<Record<string, AgentService>> {
    const [services] = await this.c.query("/v1/agent/services", q, (j) => (j ?? {}) as Record<string, AgentService>);
    return services;
  }

  /** One local service; `q.hash` blocks until its ContentHash differs. An unknown ID is an ApiError (404). */
  async service(id: string, q?: QueryOptions): Promise<[AgentService, QueryMeta]> {
    return this.c.query(`/v1/agent/service/${id}`, q, (j) => j as AgentService);
  }

  /** The agent's own checks, by check ID. */
  async checks(q?: QueryOptions): Promise<Record<string, HealthCheck>> {
    const [checks] = await this.c.query("/v1/agent/checks", q, (j) => (j ?? {}) as Record<string, HealthCheck>);
    return checks;
  }

  async serviceRegister(reg: AgentServiceRegistration | Record<string, unknown>, opts: { replaceExistingChecks?: boolean } & WriteOptions = {}): Promise<void> {
    const params: [string, string][] = opts.replaceExistingChecks ? [["replace-existing-checks", "true"]] : [];
    await this.c.write("PUT", "/v1/agent/service/register", encodeJson(reg), opts, params);
  }

  async serviceDeregister(id: string, w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", `/v1/agent/service/deregister/${id}`, undefined, w);
  }

  async checkRegister(reg: AgentCheckRegistration, w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", "/v1/agent/check/register", encodeJson(reg), w);
  }

  async checkDeregister(id: string, w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", `/v1/agent/check/deregister/${id}`, undefined, w);
  }

  /** Sets a TTL check's status and output (`/v1/agent/check/update/:id`). */
  async updateTTL(checkId: string, output: string, status: "passing" | "warning" | "critical", w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", `/v1/agent/check/update/${checkId}`, encodeJson({ Status: status, Output: output }), w);
  }

  async passTTL(checkId: string, note = "", w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", `/v1/agent/check/pass/${checkId}`, undefined, w, note ? [["note", note]] : undefined);
  }

  async warnTTL(checkId: string, note = "", w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", `/v1/agent/check/warn/${checkId}`, undefined, w, note ? [["note", note]] : undefined);
  }

  async failTTL(checkId: string, note = "", w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", `/v1/agent/check/fail/${checkId}`, undefined, w, note ? [["note", note]] : undefined);
  }

  async enableServiceMaintenance(serviceId: string, reason = ""): Promise<void> {
    await this.c.write("PUT", `/v1/agent/service/maintenance/${serviceId}`, undefined, undefined, [["enable", "true"], ["reason", reason]]);
  }

  async disableServiceMaintenance(serviceId: string): Promise<void> {
    await this.c.write("PUT", `/v1/agent/service/maintenance/${serviceId}`, undefined, undefined, [["enable", "false"]]);
  }

  async enableNodeMaintenance(reason = ""): Promise<void> {
    await this.c.write("PUT", "/v1/agent/maintenance", undefined, undefined, [["enable", "true"], ["reason", reason]]);
  }

  async disableNodeMaintenance(): Promise<void> {
    await this.c.write("PUT", "/v1/agent/maintenance", undefined, undefined, [["enable", "false"]]);
  }

  async join(addr: string, wan = false): Promise<void> {
    await this.c.write("PUT", `/v1/agent/join/${addr}`, undefined, undefined, wan ? [["wan", "1"]] : undefined);
  }

  /**
   * Streams the agent's log lines (`/v1/agent/monitor`) at `logLevel` (default
   * INFO; the agent sends levels below its own too), as JSON objects with
   * `logJson`. Resolves once the agent has answered (refusals throw here);
   * the lines end when the agent closes the stream or `signal` aborts.
   */
  async monitor(opts: { logLevel?: string; logJson?: boolean; signal?: AbortSignal } = {}): Promise<AsyncGenerator<string>> {
    const params: Array<[string, string]> = [];
    if (opts.logLevel) params.push(["loglevel", opts.logLevel]);
    if (opts.logJson) params.push(["logjson", ""]);
    const request = { method: "GET" as const, path: "/v1/agent/monitor", params, query: opts.signal ? { signal: opts.signal } : {} };
    const response = await this.c.open(request);
    if (response.status !== 200) {
      throw new ApiError(response.status, (await response.text()).trim(), "GET", "/v1/agent/monitor");
    }
    return readLines(response, opts.signal);
  }

  /** Asks the agent to leave gracefully and shut down. */
  async leave(): Promise<void> {
    await this.c.write("PUT", "/v1/agent/leave", undefined, undefined);
  }

  async forceLeave(node: string): Promise<void> {
    await this.c.write("PUT", `/v1/agent/force-leave/${node}`, undefined, undefined);
  }

  /** Force-leave that also forgets the member at once (`?prune`). */
  async forceLeavePrune(node: string): Promise<void> {
    await this.c.write("PUT", `/v1/agent/force-leave/${node}`, undefined, undefined, [["prune", "1"]]);
  }

  /** Force-leave with options (`?prune`, `?wan`). */
  async forceLeaveOpts(node: string, opts: { prune?: boolean; wan?: boolean }): Promise<void> {
    const p: [string, string][] = [];
    if (opts.prune) p.push(["prune", "1"]);
    if (opts.wan) p.push(["wan", "1"]);
    await this.c.write("PUT", `/v1/agent/force-leave/${node}`, undefined, undefined, p);
  }

  /** Makes the agent re-read its configuration files. */
  async reload(): Promise<void> {
    await this.c.write("PUT", "/v1/agent/reload", undefined, undefined);
  }

  /** `/v1/agent/metrics` as JSON (go-metrics' summary). */
  async metrics(): Promise<Record<string, unknown>> {
    const [m] = await this.c.query("/v1/agent/metrics", undefined, (j) => (j ?? {}) as Record<string, unknown>);
    return m;
  }

  /** Health of one local service instance; the status code carries the aggregate, so 429 and 503 are answers too. */
  async healthServiceById(id: string): Promise<[string, AgentServiceChecksInfo | null]> {
    const res = await this.healthRequest(`/v1/agent/health/service/id/${id}`);
    return res === null ? ["critical", null] : [res.AggregatedStatus, res];
  }

  /** Health of every local instance of a service; the worst one decides the status. */
  async healthServiceByName(name: string): Promise<[string, AgentServiceChecksInfo[]]> {
    const request = { method: "GET" as const, path: `/v1/agent/health/service/name/${name}` };
    const response = await this.c.send(request);
    this.c.requireStatus(request, response, [200, 404, 429, 503]);
    const list = asArray<AgentServiceChecksInfo>(this.c.decode(request, response));
    const status = response.status === 404 ? "critical" : response.status === 200 ? "passing" : response.status === 429 ? "warning" : "critical";
    return [status, list];
  }

  private async healthRequest(path: string): Promise<AgentServiceChecksInfo | null> {
    const request = { method: "GET" as const, path };
    const response = await this.c.send(request);
    this.c.requireStatus(request, response, [200, 404, 429, 503]);
    if (response.status === 404) return null;
    return this.c.decode(request, response) as AgentServiceChecksInfo;
  }
}

/** A streamed body as lines; a read that fails because `signal` aborted just ends the lines. */
async function* readLines(response: Response, signal: AbortSignal | undefined): AsyncGenerator<string> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let pending = "";
  const reader = response.body.getReader();
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
      if (chunk.done) break;
      pending += decoder.decode(chunk.value, { stream: true });
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        yield pending.slice(0, nl);
        pending = pending.slice(nl + 1);
      }
    }
    if (pending !== "") yield pending;
  } finally {
    reader.releaseLock();
  }
}
