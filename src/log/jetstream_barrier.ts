/**
 * The index a read barrier waits for: the stream's last sequence, from a
 * request sent after the caller asked (an answer already in flight may
 * predate a write the caller saw). Callers that arrive while one request is
 * in flight share the next one, so a burst of reads costs two requests.
 */
export class LastIndexProbe {
  readonly #ask: () => Promise<number>;
  #probe: Promise<number> | null = null;
  #nextProbe: Promise<number> | null = null;

  /** `ask` requests the stream's last sequence. */
  constructor(ask: () => Promise<number>) {
    this.#ask = ask;
  }

  read(): Promise<number> {
    if (this.#probe === null) {
      this.#probe = this.#ask().finally(() => (this.#probe = null));
      return this.#probe;
    }
    this.#nextProbe ??= this.#probe
      .catch(() => undefined)
      .then(() => {
        this.#nextProbe = null;
        return this.read();
      });
    return this.#nextProbe;
  }
}
