// The app behind the sidecars: a bare node:http server answering "ok" (the
// same app serves both the direct and the proxied runs). Usage: backend.mjs <port>
import { createServer } from "node:http";

const port = Number(process.argv[2] ?? "0");
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
    res.end("ok");
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => console.log(`backend listening on ${server.address().port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
