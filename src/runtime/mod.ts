export * as proc from "./process.ts";
export { serveHttp } from "./serve.ts";
export type { DirectAnswer, DirectHandler, DirectRequest, FetchHandler, HttpListener, ServeOptions } from "./serve.ts";
export { collectGarbage } from "./gc.ts";
export { fetchNoReplay } from "./fetch.ts";
export { serveHttps } from "./serve_tls.ts";
export type { HttpsListener, HttpsTls, ServeHttpsOptions } from "./serve_tls.ts";
export { keepOpen } from "./long_lived.ts";
export { adoptHttp2 } from "./h2.ts";
