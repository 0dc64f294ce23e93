export { createApp } from "./app.ts";
export { type ApiContext, type AgentInfo, type Authorizer, type Limits, allowAll } from "./context.ts";
export { HttpError } from "./errors.ts";
