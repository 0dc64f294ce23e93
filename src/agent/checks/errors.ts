/** Errors raised while reading, validating or starting a check definition. */

export const CheckErrorCode = {
  /** The JSON does not have the shape Consul decodes (Consul answers "Request decode failed: ..."). */
  Decode: "decode",
  /** CheckType.Validate failed (Consul answers "Invalid check: ..." over HTTP, "Check is not valid: ..." inside the agent). */
  Invalid: "invalid",
  /** A script check from a config file while neither script option is on. */
  ScriptsDisabled: "scripts_disabled",
  /** A script check over the HTTP API while `enable_script_checks` is off. */
  ScriptsDisabledRemote: "scripts_disabled_remote",
  /** A valid Consul check type this agent cannot run (Docker, OSService). */
  Unsupported: "unsupported",
} as const;
export type CheckErrorCode = (typeof CheckErrorCode)[keyof typeof CheckErrorCode];

/**
 * A check definition that cannot be used. `message` is Consul's own text
 * without the prefix the caller's context adds; `code` tells the caller
 * which prefix and status apply.
 */
export class CheckDefinitionError extends Error {
  override readonly name = "CheckDefinitionError";
  readonly code: CheckErrorCode;

  constructor(code: CheckErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
