/**
 * The systems bench/cluster compares, each a set of pinned processes on CPU0:
 * one Consulate server on LocalLog, three Consulate servers on a three-node
 * NATS JetStream cluster, and etcd with one and with three members. Ports sit
 * in 29xxx, below the ephemeral range and apart from bench/kv's.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { type Child, startPinned, stop, waitReady } from "../kv/procs.ts";

export const HOST = "127.0.0.1";

export interface System {
  readonly label: string;
  /** Every process of the system (its CPU time is summed). */
  readonly children: Child[];
  /** HTTP port wrk drives (for etcd, the leader's). */
  port: number;
  readonly put: { readonly method: "PUT" | "POST"; readonly path: string; readonly body: string; readonly contentType?: string };
  /** A note printed with the results (which member is driven, ...). */
  note: string;
}

export class BenchError extends Error {
  override readonly name = "BenchError";
}

export interface Env {
  readonly tmp: string;
  /** The command that runs `consulate` on the runtime under test (bench/_runtime.ts). */
  readonly agent: readonly string[];
  readonly etcd: string;
  readonly natsServer: string;
}

async function send(port: number, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${HOST}:${port}${path}`, { method, body, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, text: await res.text() };
}

export const ETCD_PUT_BODY = '{"key":"Zm9v","value":"YmFy"}';

/** `ports`: one client and one peer port per member. */
export async function startEtcd(e: Env, label: string, name: string, members: readonly { client: number; peer: number }[]): Promise<System> {
  const cluster = members.map((m, i) => `${name}${i}=http://${HOST}:${m.peer}`).join(",");
  const children = members.map((m, i) =>
    startPinned(e.tmp, `${name}${i}`, 0, [
      e.etcd, "--name", `${name}${i}`, "--data-dir", join(e.tmp, `${name}${i}-data`),
      "--listen-client-urls", `http://${HOST}:${m.client}`, "--advertise-client-urls", `http://${HOST}:${m.client}`,
      "--listen-peer-urls", `http://${HOST}:${m.peer}`, "--initial-advertise-peer-urls", `http://${HOST}:${m.peer}`,
      "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token", name,
      "--logger", "zap", "--log-level", "warn",
    ]),
  );
  for (const [i, c] of children.entries()) {
    await waitReady(c, async () => (await send(members[i]!.client, "POST", "/v3/kv/put", ETCD_PUT_BODY)).status === 200, 30_000);
  }
  // Drive the leader: the best case for the peer (a follower would forward every put to it).
  let port = members[0]!.client;
  let note = "member 0";
  for (const [i, m] of members.entries()) {
    const r = await send(m.client, "POST", "/v3/maintenance/status", "{}");
    const j = JSON.parse(r.text) as { header?: { member_id?: string }; leader?: string };
    if (j.leader !== undefined && j.leader === j.header?.member_id) {
      port = m.client;
      note = members.length > 1 ? `driving the leader (member ${i})` : "";
    }
  }
  return { label, children, port, put: { method: "POST", path: "/v3/kv/put", body: ETCD_PUT_BODY, contentType: "application/json" }, note };
}

function agentPorts(http: number): string[] {
  // Every listener of an agent on its own port, derived from the HTTP port.
  const d = http - 29500;
  return ["-http-port", String(http), "-client", HOST, "-bind", HOST, "-dns-port", String(29700 + d), "-server-port", String(29300 + d), "-serf-lan-port", String(29600 + d), "-serf-wan-port", String(29800 + d), "-log-level", "warn"];
}

async function agentReady(c: Child, port: number): Promise<void> {
  await waitReady(c, async () => {
    const leader = await send(port, "GET", "/v1/status/leader");
    return leader.status === 200 && leader.text.length > 2 && (await send(port, "PUT", "/v1/kv/foo", "bar")).text.trim() === "true";
  }, 60_000);
}

const KV_PUT = { method: "PUT", path: "/v1/kv/foo", body: "bar" } as const;

export async function startLocalLog(e: Env, port: number): Promise<System> {
  const data = join(e.tmp, "local-data");
  mkdirSync(data, { recursive: true });
  const c = startPinned(e.tmp, "consulate-local", 0, [...e.agent, "agent", "-server", "-bootstrap", "-data-dir", data, "-node", "local1", ...agentPorts(port)]);
  await agentReady(c, port);
  return { label: "consulate LocalLog, 1 server", children: [c], port, put: KV_PUT, note: "fsync per group commit" };
}

/** nats-server config of node `i` of a 3-node JetStream cluster. */
function natsConfig(tmp: string, i: number, ports: readonly { client: number; route: number }[]): string {
  const me = ports[i]!;
  const store = join(tmp, `nats${i}-store`);
  mkdirSync(store, { recursive: true });
  return [
    `server_name: bench-n${i}`,
    `listen: ${HOST}:${me.client}`,
    `jetstream { store_dir: "${store}" }`,
    `cluster {`,
    `  name: bench`,
    `  listen: ${HOST}:${me.route}`,
    `  routes: [${ports.filter((p) => p !== me).map((p) => `nats-route://${HOST}:${p.route}`).join(", ")}]`,
    `}`,
  ].join("\n");
}

/** Three nats-server nodes in one JetStream cluster. */
export async function startNats(e: Env, nats: readonly { client: number; route: number }[]): Promise<Child[]> {
  const children: Child[] = [];
  for (const [i] of nats.entries()) {
    const conf = join(e.tmp, `nats${i}.conf`);
    writeFileSync(conf, natsConfig(e.tmp, i, nats));
    children.push(startPinned(e.tmp, `nats${i}`, 0, [e.natsServer, "-c", conf]));
  }
  for (const [i, c] of children.entries()) {
    await waitReady(c, () => new Promise<boolean>((resolve) => {
      const s = connect({ host: HOST, port: nats[i]!.client });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    }), 15_000);
  }
  return children;
}

/**
 * Three Consulate servers on a running NATS cluster. The agent flags for a
 * JetStream cluster are `-server -bootstrap-expect 3 -nats <urls>`; when the
 * agent does not take them (yet), this throws and the case is skipped.
 */
export async function startJetStreamCluster(e: Env, httpPorts: readonly number[], nats: readonly Child[], natsUrls: string, profileDir?: string): Promise<System> {
  const servers = httpPorts.map((port, i) => {
    const data = join(e.tmp, `js-data${i}`);
    mkdirSync(data, { recursive: true });
    // Server 0 takes the HTTP load; with a profile dir it runs under Bun's sampling profiler.
    const prof = i === 0 && profileDir ? ["--cpu-prof-md", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-interval=200"] : [];
    return startPinned(e.tmp, `consulate-js${i}`, 0, [
      e.agent[0]!, ...prof, ...e.agent.slice(1), "agent", "-server", "-bootstrap-expect", "3", "-nats", natsUrls, "-data-dir", data, "-node", `js${i}`, ...agentPorts(port),
    ]);
  });
  const sys: System = { label: "consulate JetStreamLog, 3 servers", children: [...nats, ...servers], port: httpPorts[0]!, put: KV_PUT, note: "driving server 0; 3 nats-server nodes, stream R3; CPU includes the nats-server nodes" };
  try {
    for (const [i, c] of servers.entries()) await agentReady(c, httpPorts[i]!);
  } catch (err) {
    await Promise.all(servers.map((c) => stop(c)));
    throw new BenchError(`JetStream cluster did not start: ${(err as Error).message.split("\n").slice(0, 6).join("\n")}`);
  }
  return sys;
}
