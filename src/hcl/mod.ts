/** HCL parsing (agent configuration, ACL rules, `config write`). */
export { HCL_MAX_BYTES, HclSyntaxError, parseHcl } from "./parse.ts";
