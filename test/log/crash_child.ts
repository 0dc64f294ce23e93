/**
 * Child process for crash.test.ts: appends to the log in `args()[0]` from
 * several concurrent workers, prints every acknowledged index on its own line,
 * and snapshots every 500 entries, until the parent kills it with SIGKILL.
 * Entry N carries "vN" and snapshot N carries "snapN" so the parent can check
 * content, not only indexes.
 */
import { LocalLog } from "../../src/log/mod.ts";
import { args, exit, writeStderr, writeStdout } from "../../src/runtime/process.ts";

const [dir, workersArg] = args();
if (dir === undefined) {
  writeStderr("usage: crash_child.ts <dir> [workers]\n");
  exit(2);
}
const log = new LocalLog({ dir, segmentBytes: 16 * 1024 });
await log.open();
const enc = new TextEncoder();
// This process is the only writer, so the k-th append call gets lastIndex + k.
let next = log.lastIndex() + 1;
writeStdout(`ready ${log.lastIndex()}\n`);

async function worker(): Promise<void> {
  for (;;) {
    const expected = next++;
    const index = await log.append(enc.encode(`v${expected}`));
    if (index !== expected) {
      writeStderr(`append returned ${index}, expected ${expected}\n`);
      exit(3);
    }
    writeStdout(`${index}\n`);
    if (index % 500 === 0) await log.saveSnapshot({ index, data: enc.encode(`snap${index}`) });
  }
}

const workers = Number(workersArg ?? "16");
await Promise.all(Array.from({ length: workers }, () => worker()));
