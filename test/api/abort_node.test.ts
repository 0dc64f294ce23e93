/**
 * Under Node, an aborted blocking read ends at once even after a garbage
 * collection: Node's fetch follows a Request's signal through a weak
 * reference (nodejs/node#55428), which left a proxy's watches, and so its
 * stop on SIGTERM, hanging until their waits ran out.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");

test("under Node, a blocking read aborted after a GC rejects at once", () => {
  const out = join(ROOT, "dist", `abort-gc-probe-${process.pid}.mjs`);
  try {
    const build = spawnSync(join(ROOT, "node_modules/.bin/esbuild"), [join(import.meta.dir, "_abort_gc_probe.ts"), "--bundle", "--platform=node", "--format=esm", "--target=node20", "--packages=external", `--outfile=${out}`, "--log-level=warning"], { encoding: "utf8" });
    expect(build.status).toBe(0);
    const run = spawnSync("node", ["--expose-gc", out], { encoding: "utf8", timeout: 20_000 });
    const result = JSON.parse(run.stdout.trim()) as { out: string; ms: number };
    expect(result.out).toBe("rejected: AbortError");
    expect(result.ms).toBeLessThan(1000);
  } finally {
    rmSync(out, { force: true });
  }
}, 30_000);
