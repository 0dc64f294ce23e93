export { Server, ApplyError, SnapshotStateError, type ServerConfig } from "./server.ts";
export { type Clock, systemClock } from "./clock.ts";
export { type BlockingOptions, type QueryResult, DEFAULT_WAIT_MS, MAX_WAIT_MS, effectiveWait } from "./blocking.ts";
export { CAManager } from "./ca_manager.ts";
export { type CAConfigUpdate, type CAHost, type ConnectOptions, CONNECT_NOT_ENABLED, STATE_READ_ONLY } from "./ca_options.ts";
export type { RemoteDatacenters } from "./remote.ts";
