/**
 * The direct lanes an agent's HTTP listeners try before the app: KV reads
 * (direct.ts) and catalog registration (direct_register.ts). Each looks at
 * the method and path first and passes on (null) what is not its own.
 */
import type { DirectHandler } from "../runtime/serve.ts";
import type { ApiContext } from "./context.ts";
import { directReads } from "./direct.ts";
import { directRegister, type DirectRegisterOptions } from "./direct_register.ts";
import type { RequestMetrics } from "./metrics.ts";

export function directApi(api: ApiContext, requests: RequestMetrics, options: DirectRegisterOptions = {}): DirectHandler {
  const reads = directReads(api, requests);
  const register = directRegister(api, requests, options);
  return (req) => (req.method === "GET" ? reads(req) : register(req));
}
