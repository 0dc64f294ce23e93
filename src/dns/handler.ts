/**
 * The DNS request handler: bytes in, bytes out (or nothing), as a function of
 * the query, the catalog lookup and injected randomness and time. Sockets are
 * thin wrappers around it (server.ts).
 */
import { AnswerBuilder, MAX_RECURSION_LEVEL, type Outcome, type Resolution } from "./answer.ts";
import { Buffer } from "node:buffer";
import { type AnswerCache, type CachedAnswer, MAX_CACHED_ANSWER, MAX_CACHED_QUERY, queryHash } from "./answer_cache.ts";
import type { DnsConfig } from "./config.ts";
import { encodeMessage, MAX_MESSAGE } from "./encode.ts";
import type { DnsLookup } from "./lookup.ts";
import type { EdnsOption, Message, OptRecord, Rr } from "./message.ts";
import { soaRecord } from "./records.ts";
import type { Recursor } from "./recursor.ts";
import { zoneOf } from "./route.ts";
import { trimTcp, trimUdp } from "./trim.ts";
import type { AnswerRecorder } from "./outcome.ts";
import { EDNS_CLIENT_SUBNET, Flag, HEADER_SIZE, parseQuery, type Query, Rcode, RType } from "./wire.ts";

export type Transport = "udp" | "tcp";

export interface DnsContext {
  readonly config: DnsConfig;
  readonly lookup: DnsLookup;
  readonly transport: Transport;
  /** Upstream resolvers; null when `recursors` is empty. */
  readonly recursor?: Recursor | null;
  /** Uniform in [0, 1), for shuffling answers. */
  readonly random?: () => number;
  /** Milliseconds since the epoch, for the SOA serial. */
  readonly now?: () => number;
  /** The client's IP, for prepared queries' `near=_ip`. */
  readonly remoteAddress?: string;
  /** Answers kept between catalog changes; only used with a lookup that has a `version()`. */
  readonly cache?: AnswerCache | null;
}

/** What the handler gives back: a response to send, nothing, or either later. */
export type DnsReply = Uint8Array | null | Promise<Uint8Array | null>;

const OPCODE_MASK = 0x7800;

function replyFlags(q: { flags: number }, extra: number): number {
  return Flag.QR | (q.flags & (OPCODE_MASK | Flag.RD | Flag.CD)) | extra;
}

/** A header-only answer (FORMERR / NOTIMP for requests miekg/dns would not accept). */
function rejection(id: number, flags: number, rcode: number): Uint8Array {
  const opcode = rcode === Rcode.NOTIMP ? flags & OPCODE_MASK : 0;
  const out = new Uint8Array(12);
  out[0] = id >> 8;
  out[1] = id & 0xff;
  const f = Flag.QR | opcode | (flags & (Flag.RD | Flag.CD)) | rcode;
  out[2] = f >> 8;
  out[3] = f & 0xff;
  return out;
}

function canRecurse(ctx: DnsContext): boolean {
  return ctx.config.recursors.length > 0 && ctx.recursor != null;
}

function baseMessage(q: Query, ctx: DnsContext, authoritative: boolean): Message {
  const flags = replyFlags(q, (authoritative ? Flag.AA : 0) | (canRecurse(ctx) ? Flag.RA : 0));
  return { id: q.id, flags, rcode: Rcode.NOERROR, question: { name: q.asked, qtype: q.qtype, qclass: q.qclass }, answer: [], authority: [], additional: [] };
}

/** The OPT record echoed to an EDNS client: its UDP size, and its client subnet with our scope. */
function optFor(q: Query, rcode: number, ecsGlobal: boolean): OptRecord | null {
  if (!q.edns) return null;
  const options: EdnsOption[] = [];
  const s = q.edns.subnet;
  if (s) {
    const global = ecsGlobal || rcode === Rcode.NXDOMAIN || rcode === Rcode.SERVFAIL || rcode === Rcode.REFUSED || rcode === Rcode.NOTIMP;
    const bytes = Math.ceil(s.sourcePrefix / 8);
    const data = new Uint8Array(4 + bytes);
    data[0] = s.family >> 8;
    data[1] = s.family & 0xff;
    data[2] = s.sourcePrefix;
    data[3] = global ? 0 : s.sourcePrefix;
    data.set(s.address.subarray(0, bytes), 4);
    options.push({ code: EDNS_CLIENT_SUBNET, data });
  }
  return { type: RType.OPT, name: ".", udpSize: q.edns.udpSize, options };
}

function optLength(opt: OptRecord | null): number {
  if (!opt) return 0;
  let n = 11;
  for (const o of opt.options) n += 4 + o.data.length;
  return n;
}

function serverFailure(q: Query, ctx: DnsContext, recursionAvailable: boolean): Uint8Array {
  const msg = baseMessage(q, ctx, false);
  msg.flags = (msg.flags & ~Flag.RA) | (recursionAvailable ? Flag.RA : 0);
  msg.rcode = Rcode.SERVFAIL;
  const opt = optFor(q, Rcode.SERVFAIL, true);
  if (opt) msg.additional.push(opt);
  return encodeMessage(msg, !ctx.config.disableCompression);
}

function refused(q: Query, ctx: DnsContext): Uint8Array {
  const msg = baseMessage(q, ctx, false);
  msg.flags &= ~Flag.RA;
  msg.rcode = Rcode.REFUSED;
  return encodeMessage(msg, !ctx.config.disableCompression);
}

/** Encodes the message as it is when it fits `budget` (or has nothing to cut); null when it must be trimmed. */
function encodeIfFits(msg: Message, opt: OptRecord | null, compress: boolean, budget: number): Uint8Array | null {
  if (opt) msg.additional.push(opt);
  const out = encodeMessage(msg, compress);
  if (out.length <= budget || msg.answer.length <= 1) return out;
  if (opt) msg.additional.pop();
  return null;
}

/** The smallest answer record: a compressed name (2), type, class, TTL, length (10) and an IPv4 address (4). */
const MIN_RR_BYTES = 16;

/** More answers than trimming can keep for this question and transport (see trim.ts), plus one. */
function answerCap(q: Query, ctx: DnsContext): number {
  if (ctx.transport === "tcp") return Math.min(q.qtype === RType.SRV ? 1024 : 4096, Math.ceil(65523 / MIN_RR_BYTES)) + 1;
  const udpSize = q.edns ? Math.min(q.edns.udpSize, ctx.config.udpMaxPayload) : null;
  if (udpSize === null || udpSize <= 512) return Math.min(Math.min(8, ctx.config.udpAnswerLimit), Math.ceil(512 / MIN_RR_BYTES)) + 1;
  return Math.ceil(Math.min(udpSize, 65535 - 68) / MIN_RR_BYTES) + 1;
}

/** Trims to the transport, adds EDNS, encodes; SERVFAIL when even one answer cannot fit a message. */
function finish(msg: Message, q: Query, ctx: DnsContext, ecsGlobal: boolean): Uint8Array {
  const cfg = ctx.config;
  const compress = !cfg.disableCompression;
  const opt = optFor(q, msg.rcode, ecsGlobal);
  const checked = (out: Uint8Array) => (out.length > MAX_MESSAGE ? serverFailure(q, ctx, canRecurse(ctx)) : out);
  let trimmed: boolean;
  // Most answers fit as they are: encode once, and trim only when they do not.
  if (ctx.transport === "udp") {
    const udpSize = q.edns ? Math.min(q.edns.udpSize, cfg.udpMaxPayload) : null;
    const maxSize = udpSize !== null && udpSize > 512 ? Math.min(udpSize, 65535 - 68) : 512;
    if (maxSize > 512 || msg.answer.length <= Math.min(8, cfg.udpAnswerLimit)) {
      const out = encodeIfFits(msg, opt, compress, maxSize - 8);
      if (out) return checked(out);
    }
    trimmed = trimUdp(msg, udpSize, cfg.udpAnswerLimit, compress, optLength(opt));
  } else {
    const out = msg.answer.length <= 1024 ? encodeIfFits(msg, opt, compress, 65523) : null;
    if (out) return checked(out);
    trimmed = trimTcp(msg, compress, optLength(opt));
  }
  if (trimmed && cfg.enableTruncate) msg.flags |= Flag.TC;
  if (opt) msg.additional.push(opt);
  return checked(encodeMessage(msg, compress));
}

function fromOutcome(out: Outcome, q: Query, ctx: DnsContext, respDomain: string, nowMs: number): Uint8Array {
  const msg = baseMessage(q, ctx, true);
  if (out.kind === "answer") {
    msg.answer = out.answer;
    msg.authority = out.authority;
    msg.additional = out.additional;
    return finish(msg, q, ctx, out.ecsGlobal);
  }
  if (out.kind === "recurse") return serverFailure(q, ctx, canRecurse(ctx));
  if (out.kind === "nxdomain") msg.rcode = Rcode.NXDOMAIN;
  msg.authority = [soaRecord(ctx.config, respDomain, nowMs)];
  return finish(msg, q, ctx, out.ecsGlobal);
}

async function recurse(bytes: Uint8Array, q: Query, ctx: DnsContext): Promise<Uint8Array | null> {
  const reply = await ctx.recursor!.forward(bytes, ctx.transport);
  return reply ?? serverFailure(q, ctx, true);
}

/**
 * Answers one DNS message. Returns the encoded response, null when the input
 * deserves no answer, or a promise when the recursors must be asked.
 * `nowMs` is the time to answer as of (read from `ctx.now` or the clock when
 * not given: a listener passes the time it read once for a turn of its loop).
 *
 * @example
 * const reply = handleDns(packet, { config, lookup, transport: "udp" }, "127.0.0.1");
 */
export function handleDns(bytes: Uint8Array, ctx: DnsContext, remoteAddress?: string, nowMs: number = (ctx.now ?? Date.now)()): DnsReply {
  const cache = ctx.cache ?? null;
  let key: number | null = null;
  let version = Number.NaN;
  if (cache !== null && ctx.lookup.version !== undefined && bytes.length > HEADER_SIZE && bytes.length <= MAX_CACHED_QUERY) {
    version = ctx.lookup.version();
  }
  // No cache, an odd-sized query, or a lookup that cannot tell its version (NaN): nothing is kept.
  if (cache !== null && !Number.isNaN(version)) {
    key = queryHash(bytes);
    const hit = cache.get(bytes, key, version, Math.floor(nowMs / 1000));
    if (hit !== undefined) return fromCache(hit, bytes, ctx, nowMs);
  }

  const parsed = parseQuery(bytes);
  if (parsed.kind === "drop") return null;
  if (parsed.kind === "reject") return rejection(parsed.id, parsed.flags, parsed.rcode);
  const q = parsed.query;
  const cfg = ctx.config;
  const zone = zoneOf(q.name, cfg);
  if (zone.kind === "foreign") return canRecurse(ctx) ? recurse(bytes, q, ctx) : refused(q, ctx);
  const respDomain = zone.respDomain;

  if (q.qtype === RType.AXFR) {
    const msg = baseMessage(q, ctx, true);
    msg.rcode = Rcode.NOTIMP;
    return finish(msg, q, ctx, true);
  }

  const resolution: Resolution = { external: new Map(), pending: new Set() };
  // With a cache, count the random draws: an answer that drew none is the same for every asker.
  const recorder: AnswerRecorder | undefined = key !== null ? { services: 0, replay: null } : undefined;
  let draws = 0;
  const baseRandom = ctx.random ?? Math.random;
  const random = recorder
    ? () => {
        draws++;
        return baseRandom();
      }
    : baseRandom;
  const sourceIp = remoteAddress ?? ctx.remoteAddress ?? "";
  const build = (): Outcome | "soa-ns" => {
    const builder = new AnswerBuilder({ config: cfg, lookup: ctx.lookup, random, sourceIp, edns: q.edns !== null, maxAnswers: answerCap(q, ctx), resolution, recorder });
    if (q.qtype === RType.SOA || q.qtype === RType.NS) return "soa-ns";
    if (zone.kind === "arpa") return builder.ptr(q.name);
    return builder.name(q.name, q.qtype, respDomain, zone.labels, zone.all, MAX_RECURSION_LEVEL);
  };
  const render = (out: Outcome | "soa-ns"): DnsReply => {
    if (out === "soa-ns") return soaOrNs(q, ctx, respDomain, resolution, random, nowMs);
    if (out.kind === "recurse") return canRecurse(ctx) ? recurse(bytes, q, ctx) : fromOutcome({ kind: "nxdomain", ecsGlobal: true }, q, ctx, respDomain, nowMs);
    return fromOutcome(out, q, ctx, respDomain, nowMs);
  };

  const first = build();
  if (resolution.pending.size === 0 || !canRecurse(ctx)) {
    const reply = render(first);
    if (key !== null && recorder !== undefined && reply instanceof Uint8Array && (first === "soa-ns" || (first.kind !== "recurse" && first.ecsGlobal))) {
      const second = Math.floor(nowMs / 1000);
      if (draws === 0) {
        if (reply.length <= MAX_CACHED_ANSWER) cache!.set(bytes, key, { kind: "bytes", version, second, bytes: reply.slice() });
      } else if (recorder.services === 1 && recorder.replay !== null && draws === recorder.replay.draws) {
        cache!.set(bytes, key, { kind: "service", version, second, query: q, respDomain, replay: recorder.replay });
      }
    }
    return reply;
  }
  // Hostname addresses outside our domains: resolve them upstream, then build again.
  return (async () => {
    await Promise.all(
      [...resolution.pending].map(async (name) => {
        resolution.external.set(name, await ctx.recursor!.resolve(name));
      }),
    );
    resolution.pending.clear();
    return render(build());
  })();
}

/** A kept answer for a query with the same bytes but (perhaps) another ID. */
function fromCache(hit: CachedAnswer, bytes: Uint8Array, ctx: DnsContext, nowMs: number): Uint8Array {
  if (hit.kind === "bytes") {
    // A pooled copy: cheaper to allocate than a fresh typed array, and the send may outlive this call.
    const out = Buffer.allocUnsafe(hit.bytes.length);
    out.set(hit.bytes);
    out[0] = bytes[0]!;
    out[1] = bytes[1]!;
    return out;
  }
  const q: Query = { ...hit.query, id: (bytes[0]! << 8) | bytes[1]! };
  return fromOutcome(hit.replay.deal(ctx.random ?? Math.random), q, ctx, hit.respDomain, nowMs);
}

/** SOA questions: the SOA, the name servers in authority and their glue; NS questions: the name servers. */
function soaOrNs(q: Query, ctx: DnsContext, respDomain: string, resolution: Resolution, random: () => number, nowMs: number): Uint8Array {
  const builder = new AnswerBuilder({ config: ctx.config, lookup: ctx.lookup, random, sourceIp: "", edns: q.edns !== null, resolution });
  const { ns, glue } = builder.nameservers(respDomain);
  const msg = baseMessage(q, ctx, true);
  const soa: Rr = soaRecord(ctx.config, respDomain, nowMs);
  if (q.qtype === RType.SOA) {
    msg.answer = [soa];
    msg.authority = ns;
    msg.additional = glue;
  } else {
    if (ns.length === 0) return fromOutcome({ kind: "nodata", ecsGlobal: true }, q, ctx, respDomain, nowMs);
    msg.answer = ns;
    msg.additional = glue;
  }
  return finish(msg, q, ctx, true);
}
