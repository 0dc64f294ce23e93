/**
 * Serf's de-duplication buffers: the user events and query IDs seen per
 * Lamport time, in a ring of `size` slots. Something older than the ring
 * reaches, or already in its slot, is not handled (or gossiped) again.
 */
import type { EventRecord } from "./serf_messages.ts";

/** Whether `ltime` is too old for a ring of `size` slots at clock time `now`. */
const tooOld = (ltime: number, now: number, size: number): boolean => now > size && ltime < now - size;

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class EventBuffer {
  readonly #slots: ({ ltime: number; events: EventRecord[] } | undefined)[];

  constructor(size: number) {
    this.#slots = new Array(size);
  }

  /** Records an event; false when it is too old or already recorded. `now`: the event clock's time. */
  record(ltime: number, name: string, payload: Uint8Array, now: number): boolean {
    const size = this.#slots.length;
    if (tooOld(ltime, now, size)) return false;
    const idx = ltime % size;
    let slot = this.#slots[idx];
    if (slot && slot.ltime === ltime) {
      for (const p of slot.events) if (p.name === name && bytesEqual(p.payload, payload)) return false;
    } else {
      slot = { ltime, events: [] };
      this.#slots[idx] = slot;
    }
    slot.events.push({ name, payload });
    return true;
  }

  /** The recorded events by Lamport time (for push/pull). */
  slots(): { ltime: number; events: EventRecord[] }[] {
    const out: { ltime: number; events: EventRecord[] }[] = [];
    for (const e of this.#slots) if (e) out.push(e);
    return out;
  }
}

export class QueryBuffer {
  readonly #slots: ({ ltime: number; ids: number[] } | undefined)[];

  constructor(size: number) {
    this.#slots = new Array(size);
  }

  /** Records a query ID; false when it is too old or already recorded. `now`: the query clock's time. */
  record(ltime: number, id: number, now: number): boolean {
    const size = this.#slots.length;
    if (tooOld(ltime, now, size)) return false;
    const idx = ltime % size;
    let slot = this.#slots[idx];
    if (slot && slot.ltime === ltime) {
      if (slot.ids.includes(id)) return false;
    } else {
      slot = { ltime, ids: [] };
      this.#slots[idx] = slot;
    }
    slot.ids.push(id);
    return true;
  }
}
