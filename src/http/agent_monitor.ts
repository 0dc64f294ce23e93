/**
 * `GET /v1/agent/monitor?loglevel=<level>[&logjson]`: the agent's log lines as
 * they happen, one per line, until the client goes away (Consul's
 * AgentMonitor). The level may be below the agent's own.
 */
import type { Hono } from "hono";
import { type ApiContext, urlOf } from "./context.ts";
import { badRequest, HttpError } from "./errors.ts";
import { formatLogJson, formatLogText } from "../agent/log_broker.ts";
import { isLogLevel } from "../agent/logger.ts";
import { keepOpen } from "../runtime/long_lived.ts";

/** Lines a slow reader may fall behind by before the stream drops it (Consul's monitor drops lines too). */
const MAX_QUEUED = 512;

export function agentMonitorRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/agent/monitor", (c) => {
    const url = urlOf(c);
    const raw = url.searchParams.get("loglevel") ?? "";
    const level = (raw === "" ? "info" : raw).toLowerCase();
    if (!isLogLevel(level)) throw badRequest(`Unknown log level: ${raw}`);
    const json = url.searchParams.has("logjson");
    const broker = api.logs;
    if (!broker) throw new HttpError(501, "This agent's logs cannot be watched");
    let stop = () => {};
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        // An empty first chunk makes the server send the status and headers now, as Consul flushes them.
        controller.enqueue(new Uint8Array(0));
        stop = broker.watch(
          level,
          (entry) => {
            if ((controller.desiredSize ?? 0) <= -MAX_QUEUED) return;
            controller.enqueue(encoder.encode(`${json ? formatLogJson(entry) : formatLogText(entry)}\n`));
          },
          () => controller.close(),
        );
      },
      cancel() {
        stop();
      },
    });
    return keepOpen(new Response(body, { status: 200, headers: { "Content-Type": "text/plain" } }));
  });
}
