/**
 * Fitting answers into the transport (trimUDPResponse / trimTCPResponse):
 * answers are cut, NS dropped first, and the additional section re-synced to
 * the SRV targets that remain.
 */
import { messageLength } from "./encode.ts";
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

function binaryTruncate(msg: Message, maxSize: number, index: Map<string, Rr> | null, compress: boolean): number {
  const original = msg.answer;
  let start = 0;
  let end = original.length + 1;
  while (end - start > 1) {
    const median = start + Math.floor((end - start) / 2);
    msg.answer = original.slice(0, median);
    if (index) syncExtra(index, msg);
    const len = messageLength(msg, compress);
    if (len <= maxSize) {
      if (maxSize - len < 10) return median;
      start = median;
    } else {
      end = median;
    }
  }
  msg.answer = original;
  return start;
}

function shrink(msg: Message, maxSize: number, index: Map<string, Rr> | null, compress: boolean): void {
  while (msg.answer.length > 1 && messageLength(msg, compress) > maxSize) {
    if (msg.authority.length !== 0) msg.authority = [];
    if (messageLength(msg, compress) - maxSize > 100) {
      msg.answer = msg.answer.slice(0, binaryTruncate(msg, maxSize, index, compress));
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
