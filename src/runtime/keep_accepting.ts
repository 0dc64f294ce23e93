/**
 * Keeps a node:net listener accepting after the process ran out of file
 * descriptors.
 *
 * Node (libuv) and Bun go on accepting once descriptors are free again.
 * Deno's node:net stops accepting for good the first time accept() fails
 * (EMFILE), without an error event: the port stays bound, connections queue
 * in the kernel and are never answered. On Deno a watchdog therefore probes
 * the listener with a loopback connection of its own every few seconds; when
 * no connection at all is accepted while the probe waits, twice in a row (a
 * loop stalled by load once is not enough), the listener is closed and bound
 * again on the same address, which starts a new accept loop. Open connections are not touched. A probe that cannot even be opened
 * (descriptors still exhausted) is simply tried again at the next round.
 */
import { connect, type Server } from "node:net";
import { clearInterval, clearTimeout, setInterval, setTimeout } from "node:timers";

/** Time between probes. */
const EVERY_MS = 2000;
/** How long a probe may wait to be accepted. */
const DEADLINE_MS = 2000;

const stallsOnEmfile = (): boolean => typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/** Loopback address that reaches a listener bound to `address`. */
function probeHost(address: string): string {
  if (address === "0.0.0.0" || address === "") return "127.0.0.1";
  if (address === "::") return "::1";
  return address;
}

/**
 * Installs the watchdog on a listening server where the runtime needs it (a
 * no-op elsewhere). It stops when the server's owner calls `close()`.
 */
export function keepAccepting(server: Server): void {
  if (!stallsOnEmfile()) return;
  const bound = server.address();
  if (bound === null || typeof bound !== "object") return;
  const { address, port } = bound;
  let accepted = 0;
  let stalls = 0;
  let probing = false;
  let stopped = false;
  let unbound = false;
  let wait: ReturnType<typeof setTimeout> | null = null;
  server.on("connection", () => accepted++);

  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    stopped = true;
    clearInterval(timer);
    if (wait) clearTimeout(wait);
    if (unbound) {
      // Not listening after a failed rebind: nothing to close but the caller's callback.
      if (cb) queueMicrotask(() => cb());
      return server;
    }
    return close(cb);
  }) as typeof server.close;

  const bind = () => {
    const failed = () => (unbound = true);
    server.once("error", failed);
    server.listen(port, address, () => {
      server.off("error", failed);
      unbound = false;
    });
  };
  const rebind = () => {
    close();
    bind();
  };

  const probe = () => {
    if (stopped || probing) return;
    if (unbound) return bind();
    probing = true;
    const before = accepted;
    const socket = connect({ host: probeHost(address), port });
    const done = () => {
      socket.destroy();
      probing = false;
      wait = null;
    };
    // An error once connected (the listener closing it) leaves the decision to the timer below.
    socket.on("error", () => wait === null && done());
    socket.once("connect", () => {
      wait = setTimeout(() => {
        // One more turn of the loop, so an accept that is ready is counted before deciding.
        wait = setTimeout(() => {
          stalls = accepted === before ? stalls + 1 : 0;
          done();
          if (stalls >= 2 && !stopped) {
            stalls = 0;
            rebind();
          }
        }, 50);
      }, DEADLINE_MS);
      wait.unref();
    });
  };
  const timer = setInterval(probe, EVERY_MS);
  timer.unref();
}
