/**
 * What Bun.serve cannot do for a connection that has not sent a byte: count
 * it against its client's cap and close it at the request-head deadline.
 * Bun.serve shows a connection only at its first request and closes a silent
 * one after its own ~10-12 s whatever its `idleTimeout` (measured on 1.4.5
 * with idleTimeout 0, 1, 2 and 4: closed after 12.0-12.1 s each time).
 *
 * So the connections are found from the process's own descriptors, on Linux,
 * through libc (bun:ffi) every `intervalMs`: each TCP socket whose local port
 * is the listener's, its peer (getpeername) and from TCP_INFO whether it has
 * received any byte yet and how long ago the last one came (for a socket that
 * has received none, how long since it was accepted). Bun.serve's listener
 * defers accepting (TCP_DEFER_ACCEPT, 1 s): a connection that sends nothing
 * waits that long in the kernel, holding no descriptor, and its silence is
 * counted from its opening by adding that wait. A silent connection
 * past the deadline is shut down; a client holding more connections than the
 * cap has its newest silent ones answered with the 429 refusal and shut down.
 * shutdown(2) leaves the descriptor to Bun, which sees the end of the stream
 * and closes it itself; nothing here closes a descriptor it does not own.
 *
 * A connection that has sent bytes but had none back is either still sending
 * its first request head or waiting for the answer to it: the listener says
 * which requests are with a handler (`handling`), and the others past the
 * deadline are shut down too. A TLS connection has had its handshake back, so
 * one that stops after it is left to Bun's own deadline.
 *
 * Nothing is done per request answered at once (a KV GET costs what it did);
 * a request that waits is noted by its peer port while it does. A sweep costs
 * three system calls per open connection of the listener and one per other
 * descriptor: 6 us of CPU per connection at load 20 (60 ms for 10,000). It
 * yields to the event loop every 2,048 descriptors, and the next one waits at
 * least 50 times as long as this one kept the process busy, so sweeps take at
 * most ~2 % of the process with many connections (their deadline then comes later).
 */
import type { FFIFunction, Library } from "bun:ffi";

export interface SilentConnsOptions {
  readonly port: number;
  /** Connections one client address may hold (0: no cap). */
  readonly maxPerClient: number;
  /** How long a connection may stay silent (0: no deadline). */
  readonly deadlineMs: number;
  /** Written to a connection refused past the cap before it is shut down. */
  readonly refusal: string;
  /**
   * Whether a request from the connection with this peer port is with a
   * handler now (a parked blocking query has sent no byte back either); a
   * connection that has sent bytes, had none back, is past the deadline and
   * has no request with a handler never completed its first request head.
   */
  readonly handling?: (peerPort: number) => boolean;
  /** Time between sweeps (default: a quarter of the deadline, 100 ms to 1 s). */
  readonly intervalMs?: number;
}

export interface SilentConnsWatch {
  /** Runs one sweep now; what it found and did. */
  sweep(): SweepReport;
  stop(): void;
}

export interface SweepReport {
  /** Connections of the listener that were open (before this sweep's cuts). */
  readonly open: number;
  readonly silent: number;
  /** Silent past the deadline, shut down. */
  readonly expired: number;
  /** Silent past their client's cap, refused with the 429 and shut down. */
  readonly refused: number;
  /** Begun a first request head and not finished it within the deadline, shut down. */
  readonly unfinished: number;
}

const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const TCP_INFO = 11;
const TCP_DEFER_ACCEPT = 9;
const TCP_ESTABLISHED = 1;
const SHUT_RDWR = 2;
const MSG_NOSIGNAL = 0x4000;
/**
 * struct tcp_info: tcpi_state (u8) at 0, tcpi_last_data_sent and _recv (u32,
 * ms; for a socket that has sent or received nothing, since it was accepted)
 * at 44 and 52, tcpi_bytes_acked and _received (u64) at 120 and 128 (Linux 4.1+).
 */
const INFO_LAST_DATA_SENT = 44;
const INFO_LAST_DATA_RECV = 52;
const INFO_BYTES_ACKED = 120;
const INFO_BYTES_RECEIVED = 128;
const INFO_MIN_LENGTH = INFO_BYTES_RECEIVED + 8;
/** Descriptors tried past the highest one seen open (new ones take the lowest free number). */
const FD_SLACK = 1024;

const SYMBOLS = {
  getsockname: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  getpeername: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  getsockopt: { args: ["i32", "i32", "i32", "ptr", "ptr"], returns: "i32" },
  send: { args: ["i32", "ptr", "u64", "i32"], returns: "i64" },
  shutdown: { args: ["i32", "i32"], returns: "i32" },
} as const satisfies Record<string, FFIFunction>;

type Libc = Library<typeof SYMBOLS>["symbols"];

let libc: Libc | null | undefined;

/** libc through bun:ffi, once; null where that is not possible (not Linux, not Bun, no glibc). */
function openLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== "linux") return null;
  const req = (import.meta as unknown as { require?: (id: string) => unknown }).require;
  if (typeof req !== "function") return null;
  try {
    const ffi = req("bun:ffi") as typeof import("bun:ffi");
    libc = ffi.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch {
    libc = null;
  }
  return libc;
}

/** The peer address of a sockaddr as a client key (an IPv4-mapped IPv6 address as its IPv4 form). */
function peerKey(sa: Uint8Array): string {
  if (sa[0]! === AF_INET && sa[1]! === 0) return `${sa[4]}.${sa[5]}.${sa[6]}.${sa[7]}`;
  const a = sa.subarray(8, 24);
  const mapped = a.subarray(0, 10).every((b) => b === 0) && a[10] === 0xff && a[11] === 0xff;
  if (mapped) return `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((a[i]! << 8) | a[i + 1]!).toString(16));
  return groups.join(":");
}

interface Found {
  readonly fd: number;
  readonly silentMs: number;
}

/** One sweep's findings, gathered over one or more slices of descriptors. */
interface Pass {
  readonly held: Map<string, number>;
  /** Silent connections within the deadline, by client. */
  readonly quiet: Map<string, Found[]>;
  open: number;
  silent: number;
  expired: number;
  unfinished: number;
  highest: number;
}

/** Descriptors looked at in one go; a sweep over more yields to the event loop between slices. */
const SLICE = 2048;
/** A sweep may keep the process busy for at most 1/BUSY_SHARE of the time: with many connections, sweeps come less often. */
const BUSY_SHARE = 50;

/**
 * Starts sweeping the connections of the listener on `port`; null where the
 * descriptors cannot be read this way (then only Bun's own deadline applies).
 */
export function watchSilentConnections(o: SilentConnsOptions): SilentConnsWatch | null {
  if (o.maxPerClient <= 0 && o.deadlineMs <= 0) return null;
  const c = openLibc();
  if (c === null) return null;
  const sa = new Uint8Array(128);
  const saLen = new Uint32Array(1);
  const info = new Uint8Array(256);
  const infoLen = new Uint32Array(1);
  const view = new DataView(info.buffer);
  const refusal = new TextEncoder().encode(o.refusal);
  const deferSecs = new Int32Array(1);
  const deferLen = new Uint32Array(1);
  let top = FD_SLACK;
  /** How long the kernel holds a silent connection before the listener can accept it (its TCP_DEFER_ACCEPT). */
  let deferredMs = 0;

  const localPort = (fd: number): number => {
    saLen[0] = sa.length;
    if (c.getsockname(fd, sa, saLen) !== 0) return -1;
    const family = sa[0]! | (sa[1]! << 8);
    return family === AF_INET || family === AF_INET6 ? (sa[2]! << 8) | sa[3]! : -1;
  };

  /** For a descriptor of the listener's port: its peer in `sa` and TCP_INFO in `info`; false for the listening socket or one closing. */
  const established = (fd: number): boolean => {
    saLen[0] = sa.length;
    if (c.getpeername(fd, sa, saLen) !== 0) {
      deferLen[0] = 4;
      if (c.getsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, deferSecs, deferLen) === 0) deferredMs = Math.max(0, deferSecs[0]!) * 1000;
      return false;
    }
    infoLen[0] = info.length;
    if (c.getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, infoLen) !== 0 || infoLen[0]! < INFO_MIN_LENGTH) return false;
    return info[0] === TCP_ESTABLISHED;
  };

  const scan = (p: Pass, from: number, to: number): void => {
    for (let fd = from; fd < to; fd++) {
      const port = localPort(fd);
      if (port < 0) continue;
      p.highest = fd;
      if (port !== o.port || !established(fd)) continue;
      p.open++;
      const client = peerKey(sa);
      p.held.set(client, (p.held.get(client) ?? 0) + 1);
      if (view.getBigUint64(INFO_BYTES_RECEIVED, true) > 0n) {
        const answered = view.getBigUint64(INFO_BYTES_ACKED, true) > 0n;
        if (!answered && o.deadlineMs > 0 && view.getUint32(INFO_LAST_DATA_SENT, true) >= o.deadlineMs && o.handling?.((sa[2]! << 8) | sa[3]!) === false) {
          c.shutdown(fd, SHUT_RDWR);
          p.unfinished++;
          p.held.set(client, p.held.get(client)! - 1);
        }
        continue;
      }
      p.silent++;
      const silentMs = view.getUint32(INFO_LAST_DATA_RECV, true) + deferredMs;
      if (o.deadlineMs > 0 && silentMs >= o.deadlineMs) {
        c.shutdown(fd, SHUT_RDWR);
        p.expired++;
        p.held.set(client, p.held.get(client)! - 1);
        continue;
      }
      const quiet = p.quiet.get(client);
      if (quiet) quiet.push({ fd, silentMs });
      else p.quiet.set(client, [{ fd, silentMs }]);
    }
  };

  /** Refuses each client's newest silent connections past the cap (as a cap applied at accept would have); the report. */
  const finish = (p: Pass): SweepReport => {
    top = p.highest + FD_SLACK;
    let refused = 0;
    if (o.maxPerClient > 0) {
      for (const [client, quiet] of p.quiet) {
        let over = p.held.get(client)! - o.maxPerClient;
        if (over <= 0) continue;
        quiet.sort((a, b) => a.silentMs - b.silentMs);
        for (let i = 0; over > 0 && i < quiet.length; i++) {
          const fd = quiet[i]!.fd;
          // Still the same client's silent connection (between slices a descriptor may have been closed and reused).
          if (localPort(fd) !== o.port || !established(fd) || peerKey(sa) !== client || view.getBigUint64(INFO_BYTES_RECEIVED, true) > 0n) continue;
          c.send(fd, refusal, refusal.length, MSG_NOSIGNAL);
          c.shutdown(fd, SHUT_RDWR);
          refused++;
          over--;
        }
      }
    }
    return { open: p.open, silent: p.silent, expired: p.expired, refused, unfinished: p.unfinished };
  };

  const newPass = (): Pass => ({ held: new Map(), quiet: new Map(), open: 0, silent: 0, expired: 0, unfinished: 0, highest: 2 });

  const sweep = (): SweepReport => {
    const p = newPass();
    scan(p, 3, top);
    return finish(p);
  };

  const every = o.intervalMs ?? Math.min(1000, Math.max(100, Math.floor((o.deadlineMs > 0 ? o.deadlineMs : 4000) / 4)));
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  const later = (ms: number) => {
    timer = setTimeout(() => void background(), ms);
    (timer as { unref?: () => void }).unref?.();
  };
  /** One sweep a slice at a time; the next comes `every` later, or later still if this one was long. */
  const background = async (): Promise<void> => {
    const p = newPass();
    let busy = 0;
    // CPU time, not wall time: on a loaded machine the wall time of a slice is mostly other processes'.
    const cpuMs = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    for (let from = 3; from < top; from += SLICE) {
      const t = cpuMs();
      scan(p, from, Math.min(top, from + SLICE));
      busy += cpuMs() - t;
      if (from + SLICE < top) await new Promise<void>((r) => setImmediate(r));
      if (stopped) return;
    }
    const t = cpuMs();
    finish(p);
    busy += cpuMs() - t;
    if (!stopped) later(Math.max(every, Math.ceil(busy * BUSY_SHARE)));
  };
  later(every);
  return {
    sweep,
    stop: () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    },
  };
}
