/** What an error a handler throws is answered with: Consul's status for it and its plain-text body. */
import { ACLDisabledError, ACLNotFoundError, PermissionDeniedError } from "../acl/mod.ts";
import { CheckDefinitionError, CheckErrorCode } from "../agent/checks/mod.ts";
import { InvalidAgentRequestError, UnknownCheckError, UnknownServiceError } from "../agent/errors.ts";
import { UserEventError } from "../agent/user_event.ts";
import { CAConfigError, CAUnavailableError, CertificateError, RateLimitedError, SignRequestError } from "../connect/errors.ts";
import { FilterError } from "../filter/mod.ts";
import { BadRequestError, NotFoundError, RpcError } from "../rpc/mod.ts";
import { ApplyError } from "../server/mod.ts";
import { DecodeError } from "../structs/decode.ts";
import { HttpError } from "./errors.ts";

/** Consul's texts for check definitions it refuses over HTTP. */
function checkErrorText(err: CheckDefinitionError): string {
  if (err.code === CheckErrorCode.Decode) return `Request decode failed: ${err.message}`;
  if (err.code === CheckErrorCode.Invalid) return `Invalid check: ${err.message}`;
  return err.message;
}

export function errorAnswer(err: unknown): { readonly status: number; readonly text: string } {
  const message = (err as Error).message;
  if (err instanceof HttpError) return { status: err.status, text: message };
  if (err instanceof PermissionDeniedError || err instanceof ACLNotFoundError) return { status: 403, text: message };
  if (err instanceof ACLDisabledError) return { status: 401, text: message };
  if (err instanceof FilterError || err instanceof DecodeError || err instanceof InvalidAgentRequestError) return { status: 400, text: message };
  if (err instanceof UnknownServiceError || err instanceof UnknownCheckError) return { status: 404, text: message };
  if (err instanceof CheckDefinitionError) return { status: 400, text: checkErrorText(err) };
  if (err instanceof UserEventError || err instanceof ApplyError) return { status: 500, text: message };
  if (err instanceof NotFoundError) return { status: 404, text: message };
  if (err instanceof BadRequestError) return { status: 400, text: message };
  // Consul's agent answers a failed forward with the RPC error's text.
  if (err instanceof RpcError) return { status: 500, text: message };
  if (err instanceof RateLimitedError) return { status: 429, text: message };
  // Errors of the ConnectCA endpoints come back as Consul's RPC errors do: 500 with the text.
  if (err instanceof CAConfigError || err instanceof CAUnavailableError || err instanceof SignRequestError || err instanceof CertificateError) {
    return { status: 500, text: message };
  }
  return { status: 500, text: `rpc error: ${message}` };
}
