// The backend of bench/apigw: one app answering "ok" on two listeners, plain
// HTTP (the direct baseline) and mutual TLS with the service's Connect leaf
// (what the gateways dial, as a Connect-native service would serve).
// Usage: backend.mjs <plain-port> <mtls-port> <cert.pem> <key.pem> <roots.pem>
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";

const [plainPort, tlsPort, cert, key, ca] = process.argv.slice(2);
let tlsConnections = 0;
const app = (req, res) => {
  req.resume();
  if (req.url === "/_connections") {
    // How many mutual-TLS connections the proxies opened (pool reuse shows here).
    res.writeHead(200, { "content-type": "text/plain" }).end(String(tlsConnections));
    return;
  }
  req.on("end", () => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
    res.end("ok");
  });
};
const plain = createServer(app);
const tls = createHttpsServer({ cert: readFileSync(cert), key: readFileSync(key), ca: readFileSync(ca), requestCert: true, rejectUnauthorized: true }, app);
tls.on("secureConnection", () => tlsConnections++);
for (const s of [plain, tls]) s.keepAliveTimeout = 60_000;
plain.listen(Number(plainPort), "127.0.0.1");
tls.listen(Number(tlsPort), "127.0.0.1", () => console.log("backend ready"));
process.on("SIGTERM", () => {
  plain.close();
  tls.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
