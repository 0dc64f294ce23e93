// Time to encode a JSON answer on the runtime under test: parses the file
// once, then prints the median of `rounds` JSON.stringify runs in ms.
//
//     <runtime> bench/scale/encode_time.mjs <file.json> [rounds=15]
import { readFileSync } from "node:fs";

const g = globalThis;
const argv = g.Deno ? g.Deno.args : process.argv.slice(2);
const value = JSON.parse(readFileSync(argv[0], "utf8"));
const rounds = Number(argv[1] ?? 15);
const times = [];
for (let i = 0; i < rounds; i++) {
  const t0 = performance.now();
  JSON.stringify(value);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(times[Math.floor(times.length / 2)].toFixed(3));
