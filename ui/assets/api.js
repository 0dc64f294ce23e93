// The agent's HTTP API as the UI uses it: every call carries ?dc= and the
// stored ACL token; watch() follows a read with blocking queries.

const TOKEN_KEY = "consulate:token";

export const session = {
  /** The datacenter the URL names. */
  dc: "",
  /** @returns {string} */
  get token() {
    try {
      return localStorage.getItem(TOKEN_KEY) ?? "";
    } catch {
      return "";
    }
  },
  /** @param {string} t */
  set token(t) {
    try {
      if (t) localStorage.setItem(TOKEN_KEY, t);
      else localStorage.removeItem(TOKEN_KEY);
    } catch {
      /* storage off: the token lives for this page only */
    }
  },
};

export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/**
 * @param {string} path  "/v1/..." (query allowed)
 * @param {{ method?: string, body?: unknown, params?: Record<string, string | number | boolean | undefined>, signal?: AbortSignal, text?: boolean, dc?: string, okStatuses?: number[] }} [opts]
 * @returns {Promise<{ data: any, index: number, status: number }>}
 */
export async function api(path, opts = {}) {
  const url = new URL(path, location.origin);
  const dc = opts.dc ?? session.dc;
  if (dc && !url.searchParams.has("dc")) url.searchParams.set("dc", dc);
  for (const [k, v] of Object.entries(opts.params ?? {})) {
    if (v === undefined || v === false) continue;
    url.searchParams.set(k, v === true ? "" : String(v));
  }
  const headers = {};
  if (session.token) headers["X-Consul-Token"] = session.token;
  let body;
  if (opts.body !== undefined) body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  const res = await fetch(url.toString().replace(/=(&|$)/g, "$1"), { method: opts.method ?? "GET", headers, body, signal: opts.signal });
  const index = Number(res.headers.get("X-Consul-Index") ?? "0");
  const text = await res.text();
  if (!res.ok && !(opts.okStatuses ?? []).includes(res.status)) throw new ApiError(res.status, text.trim() || `${res.status} ${res.statusText}`);
  let data = text;
  if (!opts.text && text !== "" && (res.headers.get("Content-Type") ?? "").includes("json")) data = JSON.parse(text);
  return { data, index, status: res.status };
}

/**
 * Reads `path` now and again each time its X-Consul-Index moves (blocking
 * queries), calling onData with every answer until stop() is called.
 * @param {string} path
 * @param {Record<string, string | number | boolean | undefined>} params
 * @param {(data: any, index: number) => void} onData
 * @param {(err: Error) => void} [onError]
 * @param {{ okStatuses?: number[] }} [opts]
 * @returns {() => Promise<void>} stop: aborts, and resolves once no read of it is in flight any more
 */
export function watch(path, params, onData, onError, opts = {}) {
  const ctl = new AbortController();
  let index = 0;
  const loop = async () => {
    while (!ctl.signal.aborted) {
      try {
        const p = index > 0 ? { ...params, index, wait: "30s" } : params;
        const res = await api(path, { params: p, signal: ctl.signal, okStatuses: opts.okStatuses });
        if (ctl.signal.aborted) return;
        // An index going backwards (a restored snapshot, another server) starts over.
        const changed = res.index !== index || index === 0;
        index = res.index > 0 && res.index >= index ? res.index : 0;
        if (changed) onData(res.status === 404 ? null : res.data, res.index);
        if (res.index === 0) await sleep(1000, ctl.signal);
      } catch (err) {
        if (ctl.signal.aborted) return;
        onError?.(/** @type {Error} */ (err));
        index = 0;
        await sleep(2000, ctl.signal);
      }
    }
  };
  const done = loop();
  return () => {
    ctl.abort();
    return done;
  };
}

/** @param {number} ms @param {AbortSignal} signal */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve(undefined);
    });
  });
}

/** Base64 (the KV API's Value) to text, as UTF-8. @param {string | null} b64 */
export function decodeValue(b64) {
  if (!b64) return "";
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
