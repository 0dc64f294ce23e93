/**
 * The gateway process's remote JWKS fetch: node:https (or node:http) with
 * the JWKSCluster's TrustedCA (inline PEM, a file, or an environment
 * variable holding PEM) as the roots, a deadline, and a bounded body.
 */
import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { env } from "../../src/runtime/process.ts";
import { type JwksFetch, JwksError, MAX_JWKS_BYTES } from "./jwks.ts";

export const fetchJwksInProcess: JwksFetch = async (uri, o) => {
  const ca = [...o.trust.inline];
  if (o.trust.filename !== "") ca.push(await readFile(o.trust.filename, "utf8"));
  if (o.trust.env !== "") ca.push(env(o.trust.env) ?? "");
  const url = new URL(uri);
  const request = url.protocol === "https:" ? httpsRequest : url.protocol === "http:" ? httpRequest : null;
  if (!request) throw new JwksError(`JWKS URI scheme ${JSON.stringify(url.protocol)} is not http or https`);
  return new Promise<string>((resolve, reject) => {
    const req = request(url, { method: "GET", headers: { accept: "application/json" }, timeout: o.timeoutMs, ...(ca.length > 0 ? { ca } : {}) }, (res) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      res.on("data", (c: Uint8Array) => {
        size += c.length;
        if (size > MAX_JWKS_BYTES) {
          req.destroy(new JwksError(`JWKS larger than ${MAX_JWKS_BYTES} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on("end", () => {
        if (res.statusCode !== 200) reject(new JwksError(`JWKS fetch from ${uri}: status ${res.statusCode}`));
        else resolve(Buffer.concat(chunks).toString("utf8"));
      });
      res.on("error", reject);
    });
    const timer = setTimeout(() => req.destroy(new JwksError(`JWKS fetch from ${uri}: no answer within ${o.timeoutMs} ms`)), o.timeoutMs);
    req.on("close", () => clearTimeout(timer));
    req.on("timeout", () => req.destroy(new JwksError(`JWKS fetch from ${uri}: timed out`)));
    req.on("error", reject);
    req.end();
  });
};
