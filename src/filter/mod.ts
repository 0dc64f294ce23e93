/**
 * Consul's `?filter=` expression language (go-bexpr), over JSON values
 * described by a FieldSchema.
 */
export { compileFilter } from "./compile.ts";
export { FilterError, FilterErrorKind } from "./errors.ts";
export type { FieldSchema } from "./schema.ts";
export {
  agentServiceSchema,
  checkServiceNodeSchema,
  healthCheckSchema,
  intentionSchema,
  nodeInfoSchema,
  nodeSchema,
  nodeServiceSchema,
  nodeServicesSchema,
  serviceNodeSchema,
} from "./schemas.ts";
