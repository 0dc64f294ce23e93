/**
 * An HTTP/1.1 relay that judges every request before it reaches the app (L7
 * intentions): requests are parsed from the client in order, allowed ones are
 * forwarded untouched over one app connection, denied ones are answered 403
 * in their turn, and responses come back in request order (pipelining keeps
 * working). An upgrade (101) turns the connection into a plain splice.
 *
 * The relay is driven by the sockets' events (no promise per request, read
 * or write): what one event brings is parsed as far as it goes and what it
 * produced for each socket leaves in one write.
 */
import type { Duplex } from "node:stream";
import { BodyCounter, bodyPart, HeadGatherer, STREAM_END, Turn, WriteBatch } from "./h1_wire.ts";
import { type BodyFraming, closesConnection, HttpParseError, parseRequestHead, parseResponseHead, type RequestHead, requestFraming, responseFraming } from "./http1.ts";
import { Reader, splice } from "./relay.ts";

export interface RequestDecision {
  readonly allowed: boolean;
  readonly reason: string;
  /** A refusal other than the RBAC 403: 429 for a rate-limited request. */
  readonly status?: 429;
}

export interface HttpRelayOptions {
  readonly client: Duplex;
  /** Opens the connection to the app (once, on the first allowed request). */
  readonly connectApp: () => Promise<Duplex>;
  readonly decide: (req: RequestHead) => RequestDecision;
  readonly onDenied?: (req: RequestHead, reason: string) => void;
  readonly onError?: (err: unknown) => void;
}

/** Envoy's answer to a request its RBAC filter refuses. */
const FORBIDDEN = "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 19\r\n\r\nRBAC: access denied";
/** Envoy's answer when its local rate limit refuses a request. */
const RATE_LIMITED = "HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain\r\ncontent-length: 18\r\nx-envoy-ratelimited: true\r\n\r\nlocal_rate_limited";

function statusText(status: number, body: string): string {
  const reason = status === 400 ? "Bad Request" : status === 431 ? "Request Header Fields Too Large" : status === 502 ? "Bad Gateway" : "Service Unavailable";
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
}

type Pending =
  | { readonly kind: "forwarded"; readonly method: string }
  | { readonly kind: "local"; readonly response: Uint8Array; readonly close: boolean };

const ENCODER = new TextEncoder();
const FORBIDDEN_BYTES = ENCODER.encode(FORBIDDEN);
const FORBIDDEN_CLOSE = ENCODER.encode(FORBIDDEN.replace("\r\n\r\n", "\r\nconnection: close\r\n\r\n"));
const RATE_LIMITED_BYTES = ENCODER.encode(RATE_LIMITED);
const RATE_LIMITED_CLOSE = ENCODER.encode(RATE_LIMITED.replace("\r\n\r\n", "\r\nconnection: close\r\n\r\n"));

/** How long a side may take to flush after the relay ended before it is cut. */
const LINGER_MS = 5_000;

export function relayHttp(o: HttpRelayOptions): void {
  new HttpRelay(o).start();
}

/** An allowed request whose head waits for the app connection to open. */
interface Held {
  readonly raw: Uint8Array;
  readonly head: RequestHead;
  readonly framing: BodyFraming;
  readonly close: boolean;
}

class HttpRelay {
  readonly #o: HttpRelayOptions;
  readonly #client: Duplex;
  readonly #fromClient: Reader;
  readonly #toClient: WriteBatch;
  #app: Duplex | null = null;
  #fromApp: Reader | null = null;
  #toApp: WriteBatch | null = null;
  /** Responses owed to the client, in request order. */
  readonly #queue: Pending[] = [];
  readonly #reqHead = new HeadGatherer(431);
  /** The body of the request being passed on (or dropped, for a refused one). */
  #reqBody: BodyCounter | null = null;
  #reqDrop = false;
  /** The client sent its last request (a close, the end of its stream, or an error). */
  #requestsDone = false;
  /** Requests wait: for the app connection, or for the answer to an upgrade. */
  #held: Held | "connecting" | "upgrade" | null = null;
  readonly #resHead = new HeadGatherer(502);
  #resBody: BodyCounter | null = null;
  /** The connection ends once the response being passed on is through. */
  #closeAfter = false;
  /** A socket asked us to wait for its "drain" before writing more to it. */
  #appFull = false;
  #clientFull = false;
  #finished = false;
  readonly #requestTurn = new Turn(
    () => this.#requestLoop(),
    (err) => this.#fail(err),
    () => this.#flushApp(),
  );
  readonly #responseTurn = new Turn(
    () => this.#responseLoop(),
    (err) => this.#fail(err),
    () => {
      if (!this.#finished && !this.#toClient.flush()) this.#clientFull = true;
    },
  );
  readonly #onClientReadable = () => this.#requests();
  readonly #onAppReadable = () => this.#responses();

  constructor(o: HttpRelayOptions) {
    this.#o = o;
    this.#client = o.client;
    this.#fromClient = new Reader(o.client);
    this.#toClient = new WriteBatch((c) => !this.#client.destroyed && this.#client.write(c));
    o.client.on("drain", () => {
      this.#clientFull = false;
      this.#responses();
    });
    // A client gone mid-exchange ends the app side too.
    o.client.once("close", () => this.#finish());
  }

  start(): void {
    this.#requests();
  }

  /** Parses and passes on what the client sent, as far as it goes. */
  #requests(): void {
    if (this.#finished || !this.#requestTurn.run()) return;
    // A refusal or the end of the requests may let responses move on.
    this.#responses();
  }

  #requestLoop(): void {
    const r = this.#fromClient;
    while (!this.#finished && this.#held === null && !this.#appFull) {
      if (this.#reqBody) {
        const c = r.nextBuffered();
        if (c === null) {
          if (r.failed) throw r.failed;
          if (r.atEnd) throw this.#reqBody.cutShort() ?? new HttpParseError(400, "connection closed inside a body");
          r.wait(this.#onClientReadable);
          return;
        }
        const used = this.#reqBody.take(c);
        const part = bodyPart(r, c, used);
        if (!this.#reqDrop) this.#toApp!.push(part);
        if (this.#reqBody.done) this.#requestDone();
        continue;
      }
      if (this.#requestsDone) return;
      const raw = this.#reqHead.take(r);
      if (raw === null) {
        r.wait(this.#onClientReadable);
        return;
      }
      if (raw === STREAM_END) {
        this.#requestsDone = true;
        return;
      }
      this.#request(raw);
    }
  }

  #request(raw: Uint8Array): void {
    const head = parseRequestHead(raw);
    const framing = requestFraming(head);
    const close = closesConnection(head.version, head.headers);
    const verdict = this.#o.decide(head);
    if (!verdict.allowed) {
      this.#o.onDenied?.(head, verdict.reason);
      const refusal = verdict.status === 429 ? (close ? RATE_LIMITED_CLOSE : RATE_LIMITED_BYTES) : close ? FORBIDDEN_CLOSE : FORBIDDEN_BYTES;
      this.#queue.push({ kind: "local", response: refusal, close });
      this.#beginBody(framing, true, close);
      return;
    }
    const held: Held = { raw, head, framing, close };
    // An app connection that ended while idle (its keep-alive timeout) is replaced rather than answered for with a 502.
    if (this.#app && this.#resBody === null && this.#fromApp!.atEnd && !this.#queue.some((p) => p.kind === "forwarded")) this.#dropApp();
    if (this.#app) this.#forward(held);
    else this.#connect(held);
  }

  #dropApp(): void {
    this.#fromApp!.detach();
    this.#app!.destroy();
    this.#app = null;
    this.#fromApp = null;
    this.#toApp = null;
    this.#appFull = false;
  }

  #forward(h: Held): void {
    const upgrade = h.head.headers.get("upgrade") !== null || h.head.method === "CONNECT";
    const p: Pending = { kind: "forwarded", method: h.head.method };
    this.#queue.push(p);
    this.#upgrade = upgrade ? p : null;
    this.#toApp!.push(h.raw);
    this.#beginBody(h.framing, false, h.close);
  }

  #beginBody(framing: BodyFraming, drop: boolean, close: boolean): void {
    this.#reqDrop = drop;
    this.#reqBody = BodyCounter.of(framing);
    this.#closeRequests = close;
    if (this.#reqBody.done) this.#requestDone();
  }

  /** The upgrade request (or CONNECT) whose answer is awaited. */
  #upgrade: Pending | null = null;
  #closeRequests = false;

  /** The request's body is through: what comes next. */
  #requestDone(): void {
    this.#reqBody = null;
    // After an upgrade request the client's bytes may be another protocol's: wait for the answer (unless it came already).
    if (this.#upgrade !== null) this.#held = "upgrade";
    if (this.#closeRequests) this.#requestsDone = true;
  }

  /** Opens the app connection for the first allowed request, holding the requests meanwhile. */
  #connect(first: Held): void {
    this.#held = "connecting";
    this.#o.connectApp().then(
      (app) => {
        if (this.#finished) {
          app.destroy();
          return;
        }
        this.#app = app;
        this.#fromApp = new Reader(app);
        this.#toApp = new WriteBatch((c) => app.write(c));
        app.on("drain", () => {
          this.#appFull = false;
          this.#requests();
        });
        this.#held = null;
        try {
          this.#forward(first);
        } catch (err) {
          this.#fail(err);
        }
        this.#requests();
      },
      (err: unknown) => {
        this.#held = null;
        this.#queue.push({ kind: "local", response: ENCODER.encode(statusText(503, "upstream connect error")), close: true });
        this.#requestsDone = true;
        this.#o.onError?.(err);
        this.#responses();
      },
    );
  }

  #flushApp(): void {
    const t = this.#toApp;
    if (t && !t.flush()) this.#appFull = true;
  }

  /** Passes responses back in request order, as far as what arrived goes. */
  #responses(): void {
    if (!this.#finished) this.#responseTurn.run();
  }

  #responseLoop(): void {
    while (!this.#finished && !this.#clientFull) {
      const r = this.#fromApp;
      if (this.#resBody) {
        const c = r!.nextBuffered();
        if (c === null) {
          if (r!.failed) throw r!.failed;
          if (!r!.atEnd) {
            r!.wait(this.#onAppReadable);
            return;
          }
          const err = this.#resBody.cutShort();
          if (err) throw err;
          // A close-delimited body ends with the app's stream.
          this.#responseDone();
          continue;
        }
        const used = this.#resBody.take(c);
        this.#toClient.push(bodyPart(r!, c, used));
        if (this.#resBody.done) this.#responseDone();
        continue;
      }
      const p = this.#queue[0];
      if (!p) {
        if (this.#requestsDone && this.#reqBody === null && this.#held === null) this.#finish();
        return;
      }
      if (p.kind === "local") {
        this.#queue.shift();
        this.#toClient.push(p.response);
        if (p.close) this.#finish();
        continue;
      }
      const raw = this.#resHead.take(r!);
      if (raw === null) {
        r!.wait(this.#onAppReadable);
        return;
      }
      if (raw === STREAM_END) throw new HttpParseError(502, "the app closed the connection before answering");
      const head = parseResponseHead(raw);
      if (head.status === 101 || (p.method === "CONNECT" && head.status >= 200 && head.status < 300)) {
        this.#toClient.push(raw);
        this.#toRaw();
        return;
      }
      this.#toClient.push(raw);
      if (head.status >= 100 && head.status < 200) continue;
      const framing = responseFraming(head, p.method);
      this.#closeAfter = framing.kind === "close" || closesConnection(head.version, head.headers);
      this.#resBody = BodyCounter.of(framing);
      if (this.#resBody.done) this.#responseDone();
    }
  }

  #responseDone(): void {
    this.#resBody = null;
    const p = this.#queue.shift();
    if (this.#closeAfter) {
      this.#finish();
      return;
    }
    // An upgrade refused (no 101): the client's next bytes are HTTP again.
    if (p !== undefined && p === this.#upgrade) {
      this.#upgrade = null;
      if (this.#held === "upgrade") {
        this.#held = null;
        this.#requests();
      }
    }
  }

  /** After a 101 both sides speak another protocol: hand the bytes over and splice. */
  #toRaw(): void {
    const app = this.#app!;
    const client = this.#client;
    this.#toClient.flush();
    this.#flushApp();
    this.#finished = true;
    for (const c of this.#fromClient.detach()) app.write(c);
    for (const c of this.#fromApp!.detach()) client.write(c);
    splice(client, app);
  }

  #fail(err: unknown): void {
    if (this.#finished) return;
    if (err instanceof HttpParseError && !this.#client.destroyed && !this.#client.writableEnded) {
      this.#toClient.push(ENCODER.encode(statusText(err.status, err.message)));
    }
    this.#finish(err);
  }

  #finish(err?: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    if (err !== undefined) this.#o.onError?.(err);
    const client = this.#client;
    const app = this.#app;
    if (!client.destroyed && !client.writableEnded) {
      this.#toClient.flush();
      client.end();
    }
    this.#toClient.clear();
    if (app && !app.destroyed && !app.writableEnded) {
      this.#toApp?.flush();
      app.end();
    }
    const t = setTimeout(() => {
      client.destroy();
      app?.destroy();
    }, LINGER_MS);
    (t as { unref?: () => void }).unref?.();
  }
}
