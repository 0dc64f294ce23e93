export { type AgentConfig, ConfigError, defaultConfig, devConfig, loadConfigDir, loadConfigFile, mergeConfigObject, validateConfig } from "./config.ts";
export { createLogger, isLogLevel, type Logger, type LogLevel } from "./logger.ts";
export { type RunningAgent, type StartHooks, startAgent } from "./run.ts";
export { decodeUserEvent, encodeUserEvent, eventIdToIndex, type FireRequest, SERF_NAME_PREFIX, type UserEvent, UserEventError, UserEvents, USER_EVENT_BUFFER, USER_EVENT_SIZE_LIMIT } from "./user_event.ts";
export { CA_CHANGE_JITTER_MS, LEAF_IDLE_TTL_MS, LeafCerts, type LeafCertsOptions } from "./leaf_certs.ts";
export { type BlockingParams, type CachedReply, RootsCache } from "./ca_roots.ts";
export { CACHE_MAX_ENTRIES, CACHE_TTL_MS, type CacheFetch, type CacheKind, type CacheRead, type CacheResult, CacheStoppedError, REFRESH_WAIT_MS, RequestCache, type RequestCacheOptions } from "./request_cache.ts";
