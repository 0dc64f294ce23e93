// Time to encode a JSON answer on the runtime under test: parses the file
// once, then prints the median of `rounds` JSON.stringify runs in ms, indented
// as the answer was (a -dev agent answers indented JSON, as Consul's does).
//
//     <runtime> bench/scale/encode_time.mjs <file.json> [rounds=15]
import { readFileSync } from "node:fs";

const g = globalThis;
const argv = g.Deno ? g.Deno.args : process.argv.slice(2);
const text = readFileSync(argv[0], "utf8");
const value = JSON.parse(text);
const indent = /^[[{]\n( +)/.exec(text)?.[1]?.length ?? 0;
const rounds = Number(argv[1] ?? 15);
const times = [];
for (let i = 0; i < rounds; i++) {
  const t0 = performance.now();
  if (indent > 0) JSON.stringify(value, null, indent);
  else JSON.stringify(value);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(times[Math.floor(times.length / 2)].toFixed(3));
