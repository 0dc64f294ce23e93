// A mutual-TLS echo server for the dial and tcp-listener tests (closed by the caller's list).
import { createServer, type Server } from "node:tls";

export async function tlsEcho(servers: Server[], certPem: string, keyPem: string, ca: string): Promise<number> {
  const s = createServer({ cert: certPem, key: keyPem, ca, requestCert: true, rejectUnauthorized: true }, (c) => {
    c.on("error", () => {});
    c.pipe(c);
  });
  servers.push(s);
  return new Promise((r) => s.listen(0, "127.0.0.1", () => r((s.address() as { port: number }).port)));
}
