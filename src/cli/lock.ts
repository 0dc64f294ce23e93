/**
 * `consulate lock`: holds a lock (or, with `-n` > 1, a semaphore slot) under a
 * KV prefix while a child process runs, as Consul's `command/lock` does. The
 * child is stopped (SIGTERM, SIGKILL after a grace period) when the lock is
 * lost or the command is interrupted; the lock is released when it ends.
 */
import { DEFAULT_SEMAPHORE_KEY, LockError, joinPath, sleep, type Client } from "../api/mod.ts";
import { defineCommand, errorText } from "./command.ts";
import { startChild, type RunningChild } from "./child.ts";
import { boolFlag, durationFlag, intFlag, stringFlag } from "./flags.ts";
import { clientFlags, connectAgent, serverFlags } from "./http_flags.ts";

/** Between SIGTERM and SIGKILL; shorter than the default 15s lock-delay. */
export const LOCK_KILL_GRACE_PERIOD = 5_000;
const DEFAULT_MONITOR_RETRY = 3;
const DEFAULT_MONITOR_RETRY_TIME = 1_000;

const help = `
Usage: consulate lock [options] prefix child...

  Acquires a lock or semaphore at a given path, and invokes a child process
  when successful. The child process can assume the lock is held while it
  executes. If the lock is lost or communication is disrupted the child
  process will be sent a SIGTERM signal and given time to gracefully exit.
  After the grace period expires the process will be hard terminated.

  When -n=1, only a single lock holder or leader exists providing mutual
  exclusion. Setting a higher value switches to a semaphore allowing multiple
  holders to coordinate.

  The prefix provided must have write privileges.
`;

const flags = {
  ...clientFlags,
  ...serverFlags,
  "child-exit-code": boolFlag(
    false,
    "Exit 2 if the child process exited with an error if this is true, otherwise this doesn't propagate an error from the child. The default value is false.",
  ),
  "monitor-retry": intFlag(
    DEFAULT_MONITOR_RETRY,
    "Number of times to retry if Consul returns a 500 error while monitoring the lock. This allows riding out brief periods of unavailability without causing leader elections, but increases the amount of time required to detect a lost lock in some cases. The default value is 3, with a 1s wait between retries. Set this value to 0 to disable retires.",
  ),
  n: intFlag(
    1,
    "Optional limit on the number of concurrent lock holders. The underlying implementation switches from a lock to a semaphore when the value is greater than 1. The default value is 1.",
  ),
  name: stringFlag("", "Optional name to associate with the lock session. It not provided, one is generated based on the provided child command."),
  "pass-stdin": boolFlag(false, "Pass stdin to the child process."),
  shell: boolFlag(true, "Use a shell to run the command (can set a custom shell via the SHELL environment variable)."),
  timeout: durationFlag(0, 'Maximum amount of time to wait to acquire the lock, specified as a duration like "1s" or "3h". The default value is 0.'),
  try: durationFlag(0, "DEPRECATED. Use -timeout instead."),
  verbose: boolFlag(false, "Enable verbose (debugging) output."),
};

/** What the command needs from either a Lock or a Semaphore. */
interface LockUnlock {
  lock(stop: AbortSignal): Promise<AbortSignal | null>;
  unlock(): Promise<void>;
  cleanup(): Promise<void>;
}

export const lockCommand = defineCommand({
  synopsis: "Execute a command holding a lock",
  help,
  flags,
  async run({ values, args, set }, ui) {
    const limit = values.n;
    if (limit <= 0) {
      ui.error("Lock holder limit must be positive");
      return 1;
    }
    if (args.length < 2) {
      ui.error("Key prefix and child command must be specified");
      return 1;
    }
    const prefix = (args[0] ?? "").replace(/^\//, "");
    const childArgs = args.slice(1);
    // -try is the deprecated spelling of -timeout; whichever came last wins, as both write one variable in Consul.
    const timeout = set.has("timeout") ? values.timeout : values.try;
    if (timeout < 0) {
      ui.error("Timeout must be positive");
      return 1;
    }
    if (values["monitor-retry"] < 0) {
      ui.error("Number for 'monitor-retry' must be >= 0");
      return 1;
    }
    const name = values.name || `Consul lock for '${childArgs.join(" ")}' at '${prefix}'`;
    const oneshot = timeout > 0;
    const verbose = (msg: string) => {
      if (values.verbose) ui.info(msg);
    };

    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      await client.agent().nodeName();
    } catch (err) {
      ui.error(`Error querying Consul agent: ${errorText(err)}`);
      return 1;
    }

    let lu: LockUnlock;
    try {
      lu = limit === 1 ? setupLock(client, prefix, name, oneshot, timeout, values["monitor-retry"], verbose) : setupSemaphore(client, limit, prefix, name, oneshot, timeout, values["monitor-retry"], verbose);
    } catch (err) {
      ui.error(`Lock setup failed: ${errorText(err)}`);
      return 1;
    }

    const shutdown = new AbortController();
    let child: RunningChild | null = null;
    const stopSignals = (["SIGINT", "SIGTERM"] as const).map((sig) =>
      ui.io.onSignal(sig, () => {
        // Consul forwards the signal to the child and also begins shutting down.
        child?.signal(sig);
        shutdown.abort();
      }),
    );
    try {
      verbose("Attempting lock acquisition");
      let lost: AbortSignal | null;
      try {
        lost = await lu.lock(shutdown.signal);
      } catch (err) {
        ui.error(`Lock acquisition failed: ${errorText(err)}`);
        return 1;
      }
      if (lost === null) {
        ui.error("Shutdown triggered or timeout during lock acquisition");
        return 1;
      }
      let childCode = 0;
      if (shutdown.signal.aborted) {
        ui.error("Shutdown triggered during lock acquisition");
      } else {
        verbose("Starting handler");
        try {
          child = startChild({
            args: childArgs,
            shell: values.shell,
            passStdin: values["pass-stdin"],
            env: { ...ui.io.allEnv(), CONSUL_LOCK_HELD: "true" },
          });
        } catch (err) {
          ui.error(`Error starting handler: ${errorText(err)}`);
          childCode = 2;
        }
        if (child) {
          const outcome = await firstOf(child.exited, shutdown.signal, lost);
          if (outcome.kind === "exited") {
            if (outcome.reason !== null) {
              ui.error(`Error running handler: ${outcome.reason}`);
              childCode = 2;
            }
            verbose("Child terminated, releasing lock");
          } else {
            verbose(outcome.kind === "shutdown" ? "Shutdown triggered, killing child" : "Lock lost, killing child");
            const reason = await killChild(child, verbose);
            if (reason !== null) childCode = 2;
          }
        }
      }
      try {
        await lu.unlock();
      } catch (err) {
        ui.error(`Lock release failed: ${errorText(err)}`);
        return 1;
      }
      try {
        await lu.cleanup();
        verbose("Cleanup succeeded");
      } catch (err) {
        if (err instanceof LockError && err.code === "in-use") {
          verbose("Cleanup aborted, lock in use");
        } else {
          ui.error(`Lock cleanup failed: ${errorText(err)}`);
          return 1;
        }
      }
      return values["child-exit-code"] ? childCode : 0;
    } finally {
      for (const stop of stopSignals) stop();
    }
  },
});

function setupLock(
  client: Client,
  prefix: string,
  name: string,
  oneshot: boolean,
  wait: number,
  retry: number,
  verbose: (m: string) => void,
): LockUnlock {
  // The lock lives at the semaphore's key, so a lock and a semaphore on one prefix conflict visibly.
  const key = joinPath(prefix, DEFAULT_SEMAPHORE_KEY);
  verbose(`Setting up lock at path: ${key}`);
  const l = client.lock({
    key,
    sessionName: name,
    monitorRetries: retry,
    monitorRetryTime: DEFAULT_MONITOR_RETRY_TIME,
    ...(oneshot ? { lockTryOnce: true, lockWaitTime: wait } : {}),
  });
  return { lock: (stop) => l.lock(stop), unlock: () => l.unlock(), cleanup: () => l.destroy() };
}

function setupSemaphore(
  client: Client,
  limit: number,
  prefix: string,
  name: string,
  oneshot: boolean,
  wait: number,
  retry: number,
  verbose: (m: string) => void,
): LockUnlock {
  verbose(`Setting up semaphore (limit ${limit}) at prefix: ${prefix}`);
  const s = client.semaphore({
    prefix,
    limit,
    sessionName: name,
    monitorRetries: retry,
    monitorRetryTime: DEFAULT_MONITOR_RETRY_TIME,
    ...(oneshot ? { semaphoreTryOnce: true, semaphoreWaitTime: wait } : {}),
  });
  return { lock: (stop) => s.acquire(stop), unlock: () => s.release(), cleanup: () => s.destroy() };
}

type Outcome = { kind: "exited"; reason: string | null } | { kind: "shutdown" } | { kind: "lost" };

function firstOf(exited: Promise<string | null>, shutdown: AbortSignal, lost: AbortSignal): Promise<Outcome> {
  return new Promise((resolve) => {
    const onShutdown = () => done({ kind: "shutdown" });
    const onLost = () => done({ kind: "lost" });
    const done = (o: Outcome) => {
      shutdown.removeEventListener("abort", onShutdown);
      lost.removeEventListener("abort", onLost);
      resolve(o);
    };
    if (shutdown.aborted) return done({ kind: "shutdown" });
    if (lost.aborted) return done({ kind: "lost" });
    shutdown.addEventListener("abort", onShutdown, { once: true });
    lost.addEventListener("abort", onLost, { once: true });
    void exited.then((reason) => done({ kind: "exited", reason }));
  });
}

/** SIGTERM, then SIGKILL if the child is still there after the grace period. Resolves with the exit reason. */
async function killChild(child: RunningChild, verbose: (m: string) => void): Promise<string | null> {
  verbose(`Terminating child pid ${child.pid ?? "?"}`);
  child.signal("SIGTERM");
  const grace = new AbortController();
  const ended = child.exited.then((r) => {
    grace.abort();
    return r;
  });
  if (await sleep(LOCK_KILL_GRACE_PERIOD, grace.signal)) {
    verbose(`Child did not exit after grace period of ${LOCK_KILL_GRACE_PERIOD / 1000}s`);
    verbose(`Killing child pid ${child.pid ?? "?"}`);
    child.signal("SIGKILL");
  } else {
    verbose("Child terminated");
  }
  return ended;
}
