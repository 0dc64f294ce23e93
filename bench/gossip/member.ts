/**
 * One Consulate gossip member as its own process, for the serf comparison:
 *
 *     bun bench/gossip/member.ts <name> <port> <seed-port>
 *
 * Joins the seed (retrying, like serf's -retry-join), prints one JSON line
 * per event on stdout ({t, type, subject|name}, t in epoch ms), and takes
 * commands on stdin: {"cmd":"event","name":...} and {"cmd":"alive"}.
 */
import { createPool } from "../../src/gossip/mod.ts";

const [name, portArg, seedArg] = process.argv.slice(2);
if (!name || !portArg || !seedArg) {
  console.error("usage: member.ts <name> <port> <seed-port>");
  process.exit(2);
}
const port = Number(portArg);
const seed = Number(seedArg);
const now = (): number => performance.timeOrigin + performance.now();
const out = (o: object): void => void process.stdout.write(`${JSON.stringify({ t: now(), ...o })}\n`);

const pool = await createPool({ name, bindAddr: "127.0.0.1", bindPort: port, dc: "bench" });
pool.on((e) => {
  if (e.type === "user") out({ type: "user", name: e.name });
  else if (e.type === "member-failed" || e.type === "member-join" || e.type === "member-leave") out({ type: e.type, subject: e.member.Name });
});

if (port !== seed) {
  for (;;) {
    try {
      await pool.join([`127.0.0.1:${seed}`]);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
out({ type: "ready" });

let buf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  buf += chunk;
  let i: number;
  while ((i = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (!line.trim()) continue;
    const cmd = JSON.parse(line) as { cmd: string; name?: string };
    if (cmd.cmd === "event") pool.userEvent(cmd.name ?? "ping", new Uint8Array(0), false);
    else if (cmd.cmd === "alive") out({ type: "alive", count: pool.members().filter((m) => m.Status === "alive").length });
  }
});
const stop = (): void => {
  void pool.shutdown().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
