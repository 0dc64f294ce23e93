// The HTTP/2 app for bench/proxy's http2 upstream: an h2c (prior knowledge)
// node:http2 server answering "ok". Usage: backend_h2.mjs <port>
import { createServer } from "node:http2";

const port = Number(process.argv[2] ?? "0");
const server = createServer();
server.on("stream", (stream) => {
  stream.on("error", () => {});
  stream.resume();
  stream.on("end", () => {
    stream.respond({ ":status": 200, "content-type": "text/plain", "content-length": "2" });
    stream.end("ok");
  });
});
server.listen(port, "127.0.0.1", () => console.log(`h2 backend listening on ${server.address().port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
