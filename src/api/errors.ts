/**
 * Errors raised by the API client. Each class carries the fields a caller
 * needs to decide what to do, so nobody has to match on message text.
 */

/** The agent answered with an unexpected HTTP status; `body` is its plain-text reason. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly body: string;
  readonly method: string;
  readonly path: string;

  constructor(status: number, body: string, method: string, path: string) {
    // Same wording as the Go client's StatusError, which users grep logs for.
    super(`Unexpected response code: ${status} (${body})`);
    this.status = status;
    this.body = body;
    this.method = method;
    this.path = path;
  }

  /** True for 500s, which the Go client treats as retryable server errors. */
  get isServerError(): boolean {
    return this.status === 500;
  }
}

/** The agent could not be reached (refused, reset, DNS failure, TLS failure). */
export class ApiConnectionError extends Error {
  override readonly name = "ApiConnectionError";
  readonly url: string;

  constructor(message: string, url: string, options?: { cause?: unknown }) {
    super(message, options);
    this.url = url;
  }
}

/** The client options are unusable, e.g. an address with an unknown scheme. */
export class ApiConfigError extends Error {
  override readonly name = "ApiConfigError";
}

/** The agent answered 200 with a body that is not what the endpoint promises. */
export class ApiDecodeError extends Error {
  override readonly name = "ApiDecodeError";
  readonly path: string;

  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}

/** A session renewal found the session gone (destroyed or expired). */
export class SessionExpiredError extends Error {
  override readonly name = "SessionExpiredError";
  readonly sessionId: string;

  constructor(sessionId: string) {
    super("session expired");
    this.sessionId = sessionId;
  }
}

export const LockErrorCode = {
  Held: "held",
  NotHeld: "not-held",
  InUse: "in-use",
  Conflict: "conflict",
  Failed: "failed",
} as const;
export type LockErrorCode = (typeof LockErrorCode)[keyof typeof LockErrorCode];

/** A lock or semaphore operation failed; `code` says why. */
export class LockError extends Error {
  override readonly name = "LockError";
  readonly code: LockErrorCode;

  constructor(code: LockErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
