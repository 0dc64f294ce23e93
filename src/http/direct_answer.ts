/**
 * What the app's middleware and error handler add to an answer, for the
 * direct lanes (direct.ts, direct_register.ts): the same headers, the same
 * error texts and statuses (error_answer.ts), gzip where the app would gzip.
 */
import type { DirectAnswer } from "../runtime/serve.ts";
import type { ApiContext } from "./context.ts";
import { errorAnswer } from "./error_answer.ts";
import { GZIP_MIN_SIZE, gzipBytes, gzipWanted } from "./response_encoding.ts";

const PLAIN_TEXT = "text/plain; charset=UTF-8";
const utf8 = new TextEncoder();

export interface DirectFinish {
  /** The ACL default policy answers carry (`allow` without ACLs). */
  policy(): string;
  /** Adds the headers every answer carries, as the app's middleware adds them. */
  common(headers: Record<string, string>, policy: string): void;
  /** A text answer (a JSON body, say) as the app finishes it: common headers, gzipped if the client takes it and it is large enough. */
  text(status: number, headers: Record<string, string>, body: string | Uint8Array | null, policy: string, accept: string | undefined): DirectAnswer;
  /** What the app's error handler answers for `err`. */
  failed(err: unknown, policy: string, accept: string | undefined): DirectAnswer;
}

export function directFinish(api: ApiContext): DirectFinish {
  const translate = api.agent.translateWanAddrs === true;
  const common = (headers: Record<string, string>, policy: string): void => {
    headers["Vary"] = "Accept-Encoding";
    headers["X-Consul-Default-Acl-Policy"] = policy;
    if (translate) headers["X-Consul-Translate-Addresses"] = "true";
  };
  const text = (status: number, headers: Record<string, string>, body: string | Uint8Array | null, policy: string, accept: string | undefined): DirectAnswer => {
    common(headers, policy);
    if (accept === undefined || body === null) return { status, headers, body };
    // UTF-8 takes at most 3 bytes per UTF-16 unit: a short text stays under gzip's minimum whatever it holds.
    if (typeof body === "string" && body.length * 3 < GZIP_MIN_SIZE) return { status, headers, body };
    const bytes = typeof body === "string" ? utf8.encode(body) : body;
    if (!gzipWanted(accept, headers["Content-Type"] ?? "", bytes.length)) return { status, headers, body };
    headers["Content-Encoding"] = "gzip";
    return { status, headers, body: gzipBytes(bytes) };
  };
  return {
    policy: () => (api.acl?.enabled ? api.acl.settings.defaultPolicy : "allow"),
    common,
    text,
    failed(err, policy, accept) {
      const { status, text: message } = errorAnswer(err);
      // A body that did not arrive in time: the connection is not worth keeping (app.ts's onError, whose header comes first).
      const headers: Record<string, string> = status === 408 ? { Connection: "close", "Content-Type": PLAIN_TEXT } : { "Content-Type": PLAIN_TEXT };
      return text(status, headers, message, policy, accept);
    },
  };
}
