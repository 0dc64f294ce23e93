/**
 * bench/_runtime.ts for shell benches: prints, one word per line, the command
 * that runs the system under test on RUNTIME (default: what `npx consulate`
 * runs on), or the runtime's name, or the banner line.
 *
 *     bun bench/runtime_cmd.ts name | consulate | script <file> | banner
 */
import { args, exit, writeStderr, writeStdout } from "../src/runtime/process.ts";
import { consulateArgv, runtimeBanner, scriptArgv, sutRuntime } from "./_runtime.ts";

const [what, file] = args();
const rt = sutRuntime();
if (what === "name") writeStdout(`${rt}\n`);
else if (what === "consulate") writeStdout(consulateArgv(rt).join("\n") + "\n");
else if (what === "script" && file) writeStdout(scriptArgv(rt, file).join("\n") + "\n");
else if (what === "banner") writeStdout(runtimeBanner(rt) + "\n");
else {
  writeStderr("usage: bun bench/runtime_cmd.ts name | consulate | script <file> | banner\n");
  exit(2);
}
