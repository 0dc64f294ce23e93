/**
 * POST /v1/agent/connect/authorize (Consul's AgentConnectAuthorize): may the
 * client whose certificate carries `ClientCertURI` connect to `Target`? The
 * destination's intentions decide (fetched by an Intention.Match RPC); an L7
 * intention counts as deny here, since there is no request to judge. As in
 * Consul, the match comes from the agent's background-refreshed cache
 * (`X-Cache`/`Age` on the answer).
 */
import type { Hono } from "hono";
import { type ApiContext, json, parseBody, queryOptions, readText } from "./context.ts";
import { HttpError } from "./errors.ts";
import { cacheCall } from "./cached.ts";
import { authorizeConnection } from "../connect/intentions.ts";
import { CertURIError, parseCertURI } from "../connect/cert_uri.ts";
import { field, isObject } from "../structs/json.ts";

function text(o: Record<string, unknown>, name: string): string {
  const v = field(o, name);
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new HttpError(400, `Request decode failed: json: cannot unmarshal ${typeof v} into Go struct field ConnectAuthorizeRequest.${name} of type string`);
  return v;
}

export function agentAuthorizeRoutes(app: Hono, api: ApiContext): void {
  app.post("/v1/agent/connect/authorize", async (c) => {
    const q = queryOptions(c, api);
    const raw = await readText(c, 1024 * 1024);
    let body: unknown = null;
    try {
      body = raw.trim() === "" ? null : parseBody(raw);
    } catch (err) {
      throw new HttpError(400, `Request decode failed: ${(err as Error).message}`);
    }
    if (body !== null && !isObject(body)) throw new HttpError(400, "Request decode failed: json: cannot unmarshal into Go value of type structs.ConnectAuthorizeRequest");
    const b = (body ?? {}) as Record<string, unknown>;
    const target = text(b, "Target");
    const uri = text(b, "ClientCertURI");
    text(b, "ClientCertSerial");
    const ns = text(b, "Namespace");
    if (target === "") throw new HttpError(400, "Target service must be specified");
    let id;
    try {
      id = parseCertURI(uri);
    } catch (err) {
      if (err instanceof CertURIError) throw new HttpError(400, "ClientCertURI not a valid Connect identifier");
      throw err;
    }
    if (id.kind !== "service") throw new HttpError(400, "ClientCertURI not a valid Service identifier");
    if (id.partition !== "default") throw new HttpError(400, `Mismatched partitions: ${JSON.stringify(id.partition)} != "default"`);
    if (ns !== "" && ns !== "default") throw new HttpError(400, `Invalid namespace ${JSON.stringify(ns)}: Namespaces is a Consul Enterprise feature`);
    const match = await cacheCall(c, api, { ...q, minIndex: 0 }, "Intention.Match", { Type: "destination", Names: [target] });
    const policy = api.agent.defaultIntentionPolicy;
    const decision = authorizeConnection(
      match.value[0] ?? [],
      { name: id.service, namespace: id.namespace, partition: id.partition },
      { name: target },
      { defaultAllow: policy !== "deny", defaultFromIntentionPolicy: policy !== undefined },
    );
    return json(c, { Authorized: decision.allowed, Reason: decision.reason }, q);
  });
}
