/**
 * Fitting answers into the transport (trimUDPResponse / trimTCPResponse):
 * answers are cut, NS dropped first, and the additional section re-synced to
 * the SRV targets that remain.
 */
import { AnswerCuts, messageLength } from "./encode.ts";
import type { Message, Rr } from "./message.ts";
import { RType } from "./wire.ts";

/** UDP answers without EDNS carry at most this many records, whatever udp_answer_limit says. */
const MAX_UDP_ANSWER_LIMIT = 8;
const DEFAULT_UDP_SIZE = 512;
/** 65535 less the largest IP header and the UDP header. */
const MAX_UDP_DATAGRAM = 65535 - 68;
/** 64 KiB less the DNS overhead miekg/dns leaves. */
const MAX_TCP_SIZE = 65523;

function indexRrs(extra: readonly Rr[]): Map<string, Rr> {
  const index = new Map<string, Rr>();
  for (const rr of extra) {
    const name = rr.name.toLowerCase();
    if (!index.has(name)) index.set(name, rr);
  }
  return index;
}

/** Keeps only the additional records that SRV answers point at (following CNAMEs). */
function syncExtra(index: Map<string, Rr>, msg: Message): void {
  const extra: Rr[] = [];
  const resolved = new Set<string>();
  for (const ans of msg.answer) {
    if (ans.type !== RType.SRV) continue;
    let target = ans.target.toLowerCase();
    while (!resolved.has(target)) {
      resolved.add(target);
      const rr = index.get(target);
      if (!rr) break;
      extra.push(rr);
      if (rr.type !== RType.CNAME) break;
      target = rr.target.toLowerCase();
    }
  }
  msg.additional = extra;
}

/**
 * The sizes of the message cut after k of its answers, with the additional
 * records syncExtra keeps for them as the search
 * below tries them: computed from one encoding of the answers (and one of
 * each additional record) for every cut past the compression window
 * (AnswerCuts), encoded whole otherwise. A 64 KiB TCP answer of 1,000 SRV
 * records is tried a dozen times; encoding each cut whole cost 50 ms.
 */
class CutSizes {
  private readonly cuts: AnswerCuts;
  /** extras[k]: the size of the additional records the first k answers keep; null when the cuts all fall inside the window. */
  private readonly extras: number[] | null;
  private readonly msg: Message;
  private readonly answers: readonly Rr[];
  private readonly index: Map<string, Rr> | null;
  private readonly compress: boolean;

  constructor(msg: Message, index: Map<string, Rr> | null, compress: boolean) {
    this.msg = msg;
    this.answers = msg.answer;
    this.index = index;
    this.compress = compress;
    this.cuts = new AnswerCuts({ ...msg, authority: [], additional: [] }, compress);
    this.extras = msg.authority.length === 0 && this.cuts.pastWindow(this.answers.length) ? this.extraSizes() : null;
  }

  /** What syncExtra keeps, sized answer by answer (its order and de-duplication). */
  private extraSizes(): number[] {
    const out = [0];
    const resolved = new Set<string>();
    let total = 0;
    for (const ans of this.answers) {
      if (ans.type === RType.SRV && this.index) {
        let target = ans.target.toLowerCase();
        while (!resolved.has(target)) {
          resolved.add(target);
          const rr = this.index.get(target);
          if (!rr) break;
          total += this.cuts.recordLength(rr);
          if (rr.type !== RType.CNAME) break;
          target = rr.target.toLowerCase();
        }
      }
      out.push(total);
    }
    return out;
  }

  /** The size of the message cut after k answers; leaves `msg` cut there when it had to encode it. */
  of(k: number): number {
    if (this.extras !== null && this.cuts.pastWindow(k)) return this.cuts.ends[k]! + this.extras[k]!;
    this.msg.answer = this.answers.slice(0, k);
    if (this.index) syncExtra(this.index, this.msg);
    return messageLength(this.msg, this.compress);
  }
}

function binaryTruncate(msg: Message, maxSize: number, index: Map<string, Rr> | null, compress: boolean): number {
  const original = msg.answer;
  const sizes = new CutSizes(msg, index, compress);
  let start = 0;
  let end = original.length + 1;
  while (end - start > 1) {
    const median = start + Math.floor((end - start) / 2);
    const len = sizes.of(median);
    if (len <= maxSize) {
      if (maxSize - len < 10) {
        msg.answer = original;
        return median;
      }
      start = median;
    } else {
      end = median;
    }
  }
  msg.answer = original;
  return start;
}

function shrink(msg: Message, maxSize: number, index: Map<string, Rr> | null, compress: boolean): void {
  while (msg.answer.length > 1) {
    let size = messageLength(msg, compress);
    if (size <= maxSize) return;
    if (msg.authority.length !== 0) {
      msg.authority = [];
      size = messageLength(msg, compress);
    }
    if (size - maxSize > 100) {
      const n = msg.answer.length;
      const k = binaryTruncate(msg, maxSize, index, compress);
      // Sized exactly, a message this far over cannot keep every answer; were a size ever wrong, one still goes, so this ends.
      msg.answer = msg.answer.slice(0, Math.min(k, n - 1));
    } else {
      msg.answer = msg.answer.slice(0, -1);
    }
    if (index) syncExtra(index, msg);
  }
}

/**
 * Trims a UDP answer; returns whether answers were dropped. `reserve` is room
 * kept for the OPT record added afterwards.
 */
export function trimUdp(msg: Message, ednsSize: number | null, udpAnswerLimit: number, compress: boolean, reserve: number): boolean {
  const count = msg.answer.length;
  let maxSize = DEFAULT_UDP_SIZE;
  if (ednsSize !== null && ednsSize > maxSize) maxSize = ednsSize;
  if (maxSize > MAX_UDP_DATAGRAM) maxSize = MAX_UDP_DATAGRAM;
  const index = msg.additional.length > 0 ? indexRrs(msg.additional) : null;
  const maxAnswers = Math.min(MAX_UDP_ANSWER_LIMIT, udpAnswerLimit);
  let measureCompressed = compress;
  if (maxSize === DEFAULT_UDP_SIZE && count > maxAnswers) {
    // Sized uncompressed, sent compressed: safe even for resolvers that expand names.
    measureCompressed = false;
    msg.answer = msg.answer.slice(0, maxAnswers);
    if (index) syncExtra(index, msg);
  }
  shrink(msg, maxSize - 8 - reserve, index, measureCompressed);
  return msg.answer.length < count;
}

/** Trims a TCP answer to what a 16-bit length can carry. */
export function trimTcp(msg: Message, compress: boolean, reserve: number): boolean {
  const isSrv = msg.question?.qtype === RType.SRV;
  const truncateAt = isSrv ? 1024 : 4096;
  let trimmed = false;
  if (msg.answer.length > truncateAt) {
    msg.answer = msg.answer.slice(0, truncateAt);
    trimmed = true;
  }
  const index = msg.additional.length > 0 ? indexRrs(msg.additional) : null;
  const before = msg.answer.length;
  shrink(msg, MAX_TCP_SIZE - reserve, index, compress);
  return trimmed || msg.answer.length < before;
}
