/**
 * The error classes of other layers that a reply from the RPC port rebuilds
 * (so a client agent's HTTP layer answers them exactly as a server's does).
 * Errors the server itself failed with carry Consul's client-side prefix
 * "rpc error making call: ".
 */
import { fromWireError, type WireError } from "./errors.ts";
import { registerWireError } from "./errors.ts";
import { UserEventError } from "../agent/user_event.ts";
import { ACLDisabledError, ACLNotFoundError, PermissionDeniedError } from "../acl/mod.ts";
import { CAConfigError, CAUnavailableError, CertificateError, RateLimitedError, SignRequestError } from "../connect/errors.ts";
import { FilterError, FilterErrorKind } from "../filter/mod.ts";
import { ApplyError } from "../server/server.ts";
import { StateError } from "../state/mod.ts";
import { DecodeError } from "../structs/decode.ts";

const FILTER_PREFIX = "Failed to create boolean expression evaluator: ";

registerWireError("ApplyError", (m) => new ApplyError(m));
registerWireError("PermissionDeniedError", (m) => Object.assign(PermissionDeniedError.because(""), { message: m }));
registerWireError("ACLNotFoundError", (m) => new ACLNotFoundError(m));
registerWireError("ACLDisabledError", () => new ACLDisabledError());
registerWireError("StateError", (m) => new StateError(m));
registerWireError("DecodeError", (m) => new DecodeError(m));
registerWireError("UserEventError", (m) => new UserEventError(m));
registerWireError("CAConfigError", (m) => new CAConfigError(m));
registerWireError("CAUnavailableError", (m) => new CAUnavailableError(m));
registerWireError("CertificateError", (m) => new CertificateError(m));
registerWireError("SignRequestError", (m) => new SignRequestError(m));
registerWireError("RateLimitedError", () => new RateLimitedError());
registerWireError("FilterError", (m) => new FilterError(FilterErrorKind.Syntax, "", m.startsWith(FILTER_PREFIX) ? m.slice(FILTER_PREFIX.length) : m));

/** Classes whose text reaches the user as the server wrote it (they map to 4xx answers). */
const VERBATIM = new Set(["NotFoundError", "BadRequestError", "FilterError", "DecodeError", "NoPathError", "PermissionDeniedError", "ACLNotFoundError", "ACLDisabledError"]);

export function remoteError(w: WireError): Error {
  const err = fromWireError(w);
  if (!VERBATIM.has(w.code)) err.message = `rpc error making call: ${w.message}`;
  return err;
}
