export { createApp } from "./app.ts";
export { directReads } from "./direct.ts";
export { directApi } from "./direct_api.ts";
export { directRegister } from "./direct_register.ts";
export { type AgentHooks, type ApiContext, type AgentInfo, type Authorizer, type Limits, type MemoryFigures, allowAll } from "./context.ts";
export { RequestMetrics } from "./metrics.ts";
export { HttpError } from "./errors.ts";
