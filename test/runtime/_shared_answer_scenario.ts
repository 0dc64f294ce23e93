/**
 * One answer given to many parked requests on node:http (serve_node.ts with
 * shared_answer_node.ts): run by shared_answer.test.ts in-process and as a
 * child under Node (bundled) and Deno, `<runtime> _shared_answer_scenario.ts --run`
 * prints one JSON line of what crossed each connection.
 */
import { connect, type Socket } from "node:net";
import { ServerResponse } from "node:http";
import { type DirectAnswer, LaterAnswer } from "../../src/runtime/mod.ts";
import { serveNode } from "../../src/runtime/serve_node.ts";
import { runWhenAsked } from "./_scenario_main.ts";

const HOST = "127.0.0.1";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client connection that keeps every byte it is sent and whether the server closed it. */
class Client {
  readonly sock: Socket;
  text = "";
  ended = false;

  constructor(port: number, request: string) {
    this.sock = connect(port, HOST, () => this.sock.write(request));
    this.sock.setEncoding("utf8");
    this.sock.on("data", (d: string) => (this.text += d));
    this.sock.on("end", () => (this.ended = true));
    this.sock.on("error", () => (this.ended = true));
  }

  /** The complete responses received so far (Content-Length framing), Date lines blanked. */
  responses(): { head: string; body: string }[] {
    const out: { head: string; body: string }[] = [];
    let rest = this.text;
    for (;;) {
      const at = rest.indexOf("\r\n\r\n");
      if (at < 0) return out;
      const head = rest.slice(0, at);
      const len = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? "0");
      const bodyBytes = Buffer.from(rest.slice(at + 4), "utf8");
      if (bodyBytes.length < len) return out;
      const body = bodyBytes.subarray(0, len).toString("utf8");
      out.push({ head: head.replace(/\r\nDate: [^\r]*/i, "\r\nDate: -"), body });
      rest = bodyBytes.subarray(len).toString("utf8");
    }
  }
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await sleep(5)) if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
}

export interface SharedAnswerFacts {
  /** Responses node built a head for with writeHead, of the parked answers given. */
  readonly writeHeads: number;
  readonly given: number;
  readonly keepAlive: { head: string; body: string }[][];
  readonly closing: { head: string; body: string; ended: boolean }[];
  readonly pipelined: { head: string; body: string }[];
  readonly notFound: { head: string; body: string }[];
}

export async function runChecks(): Promise<SharedAnswerFacts> {
  const parked: LaterAnswer[] = [];
  const listener = await serveNode({
    hostname: HOST,
    port: 0,
    headerTimeoutMs: 30_000,
    direct: (req) => {
      if (req.target === "/now") return { status: 200, headers: { "X-Now": "1" }, body: "now" };
      if (!req.target.startsWith("/parked")) return null;
      const later = new LaterAnswer();
      parked.push(later);
      return later;
    },
    fetch: () => new Response("fetch"),
  }, null);
  const proto = ServerResponse.prototype as { writeHead: (...a: unknown[]) => unknown };
  const writeHead = proto.writeHead;
  let writeHeads = 0;
  proto.writeHead = function (this: unknown, ...a: unknown[]) {
    writeHeads++;
    return writeHead.apply(this, a);
  };
  const port = listener.port;
  const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;
  try {
    const keepAlive = Array.from({ length: 5 }, () => new Client(port, get("/parked")));
    const closing = [new Client(port, get("/parked", "Connection: close\r\n")), new Client(port, "GET /parked HTTP/1.0\r\nHost: t\r\n\r\n")];
    // A request behind a parked one on the same connection is answered after it, in order.
    const pipelined = new Client(port, get("/parked") + get("/now"));
    await until("all parked", () => parked.length === 8);
    const answer: DirectAnswer = { status: 200, headers: { "X-Consul-Index": "9", "Content-Type": "application/json", Vary: "Accept-Encoding" }, body: '{"é":1}' };
    const given = parked.length;
    writeHeads = 0;
    for (const later of parked.splice(0)) later.give(answer);
    const heads = writeHeads;
    await until("answers", () => keepAlive.every((c) => c.responses().length === 1) && closing.every((c) => c.ended) && pipelined.responses().length === 2);
    // The kept-alive connections take their next requests: a parked one with no body (a 404), then one answered at once.
    for (const c of keepAlive) c.sock.write(get("/parked"));
    await until("parked again", () => parked.length === 5);
    const missing: DirectAnswer = { status: 404, headers: { "X-Consul-Index": "10" }, body: null };
    for (const later of parked.splice(0)) later.give(missing);
    await until("404s", () => keepAlive.every((c) => c.responses().length === 2));
    for (const c of keepAlive) c.sock.write(get("/now"));
    await until("next requests", () => keepAlive.every((c) => c.responses().length === 3));
    const facts: SharedAnswerFacts = {
      writeHeads: heads,
      given,
      keepAlive: keepAlive.map((c) => c.responses()),
      closing: closing.map((c) => ({ ...c.responses()[0]!, ended: c.ended })),
      pipelined: pipelined.responses(),
      notFound: keepAlive.map((c) => c.responses()[1]!),
    };
    for (const c of [...keepAlive, ...closing, pipelined]) c.sock.destroy();
    return facts;
  } finally {
    proto.writeHead = writeHead;
    await listener.stop();
  }
}

runWhenAsked(runChecks);
