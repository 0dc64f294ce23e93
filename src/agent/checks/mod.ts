export { AliasCheck, type AliasCheckView, type AliasSource, type AliasTarget, ALIAS_REFRESH_MS } from "./alias.ts";
export { createRunner, type RunnerDeps } from "./create.ts";
export { decodeCheckDefinition, type DecodeOptions } from "./decode.ts";
export {
  type CheckDefinition,
  emptyCheckDefinition,
  encodeCheckDefinition,
  healthCheckDefinition,
  isEmptyCheckDefinition,
} from "./definition.ts";
export { CheckDefinitionError, CheckErrorCode } from "./errors.ts";
export {
  decodeHealthRequest,
  encodeHealthRequest,
  encodeHealthResponse,
  GRPC_CODES,
  HEALTH_CHECK_PATH,
  SERVING_STATUS,
} from "./grpc_wire.ts";
export { USER_AGENT } from "./http.ts";
export { effectiveOutputMaxSize, truncateTtlOutput } from "./output.ts";
export { StatusHandler, type Thresholds } from "./status_handler.ts";
export { TtlCheck } from "./ttl.ts";
export {
  type CheckRunner,
  type CheckStatus,
  type CheckUpdate,
  DEFAULT_OUTPUT_MAX_SIZE,
  DEFAULT_SCRIPT_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  MIN_INTERVAL_MS,
  type RunnerEnv,
} from "./types.ts";
export { CheckKind, checkType, isCheckStatus, type ScriptPolicy, validateCheckDefinition } from "./validate.ts";
