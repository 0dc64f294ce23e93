/**
 * Pieces both of the gateway pool's HTTP/1.1 clients use: undoing chunked
 * transfer coding, and the size under which a body is read whole.
 */

/** Undoes chunked transfer coding of a body relayed as it came off the wire. */
export class Dechunker {
  #size = -1;
  #line = "";
  #skipCrlf = 0;
  #trailers = false;

  feed(bytes: Uint8Array, out: (c: Uint8Array) => void): void {
    let i = 0;
    while (i < bytes.length) {
      if (this.#skipCrlf > 0) {
        i++;
        this.#skipCrlf--;
        continue;
      }
      if (this.#size > 0) {
        const take = Math.min(this.#size, bytes.length - i);
        out(bytes.subarray(i, i + take));
        i += take;
        this.#size -= take;
        if (this.#size === 0) {
          this.#size = -1;
          this.#skipCrlf = 2;
        }
        continue;
      }
      const b = bytes[i++]!;
      if (b === 10) {
        const line = this.#line.replace(/\r$/, "");
        this.#line = "";
        if (this.#trailers) continue;
        const size = parseInt(line.split(";")[0]!.trim(), 16);
        if (size === 0) this.#trailers = true;
        else this.#size = size;
      } else this.#line += String.fromCharCode(b);
    }
  }
}

/**
 * A response body of known length up to this size is read whole before the
 * answer is handed on: one buffer instead of a stream per request, and the
 * connection goes back to the pool at once.
 */
export const BUFFERED_BODY = 64 * 1024;
