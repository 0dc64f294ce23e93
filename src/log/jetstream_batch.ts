/**
 * Several log entries in one stream message. Under load the writer packs the
 * appends waiting behind its in-flight publishes into one message, so NATS
 * replicates, acknowledges and delivers one message for many writes. The
 * entries of a batch share the stream sequence as their index and are
 * applied in order, one after another, like the operations of a txn that
 * may each fail on their own.
 *
 * Layout: the `Consulate-Batch` header holds the entry count; the payload is
 * each entry as a big-endian u32 length followed by its bytes.
 */
export const BATCH_HEADER = "Consulate-Batch";

export function encodeBatch(entries: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const e of entries) size += 4 + e.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const e of entries) {
    view.setUint32(at, e.length);
    out.set(e, at + 4);
    at += 4 + e.length;
  }
  return out;
}

/** The entries of a batch payload; null when it does not hold exactly `count` well-formed entries. */
export function decodeBatch(payload: Uint8Array, count: number): Uint8Array[] | null {
  if (!Number.isSafeInteger(count) || count < 1) return null;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < payload.length) {
    if (at + 4 > payload.length) return null;
    const len = view.getUint32(at);
    if (at + 4 + len > payload.length) return null;
    out.push(payload.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out.length === count ? out : null;
}
