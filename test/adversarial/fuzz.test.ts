/**
 * A bounded fuzzer over the body of every JSON write endpoint of a running
 * agent: random values of random nesting, size and kind, valid templates with
 * fields swapped, and broken text. After each round the agent must answer,
 * the state written before the run must read back intact, and its RSS must
 * stay bounded. No request may be answered with a 5xx that is not an
 * expected "not here" answer. Set ADV_FUZZ_MS / ADV_FUZZ_SEED to run longer
 * or replay a seed.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { breakText, mutate, randomValue, seeded } from "./_fuzz_values.ts";
import { probeHttp, rssOf, startTarget, type Target } from "./_agent.ts";

const BUDGET_MS = Number(process.env.ADV_FUZZ_MS ?? 12_000);
const SEED = Number(process.env.ADV_FUZZ_SEED ?? Date.now() % 1_000_000);

interface Endpoint {
  readonly method: "PUT" | "POST";
  readonly path: string;
  readonly template: Record<string, unknown>;
}

const ENDPOINTS: readonly Endpoint[] = [
  { method: "PUT", path: "/v1/catalog/register", template: { Node: "fz", Address: "10.9.0.1", Service: { Service: "fzs", Port: 80, Meta: { a: "b" } }, Check: { CheckID: "c", Status: "passing" } } },
  { method: "PUT", path: "/v1/catalog/deregister", template: { Node: "fz", ServiceID: "fzs" } },
  { method: "PUT", path: "/v1/agent/service/register", template: { Name: "fza", Port: 81, Tags: ["x"], Check: { TTL: "30s" }, Proxy: { Config: { a: 1 } } } },
  { method: "PUT", path: "/v1/agent/check/register", template: { Name: "fzc", TTL: "30s", Notes: "n" } },
  { method: "PUT", path: "/v1/agent/check/update/fzc", template: { Status: "passing", Output: "ok" } },
  { method: "PUT", path: "/v1/txn", template: { KV: { Verb: "set", Key: "fz/k", Value: "eA==" } } },
  { method: "PUT", path: "/v1/session/create", template: { Name: "fz", TTL: "30s", Behavior: "release", LockDelay: "1s" } },
  { method: "POST", path: "/v1/connect/intentions", template: { SourceName: "a", DestinationName: "b", Action: "allow" } },
  { method: "PUT", path: "/v1/connect/intentions/exact?source=fa&destination=fb", template: { Action: "deny", Description: "d" } },
  { method: "PUT", path: "/v1/config", template: { Kind: "service-defaults", Name: "fzd", Protocol: "http" } },
  { method: "POST", path: "/v1/query", template: { Name: "fzq", Service: { Service: "fzs", OnlyPassing: true } } },
  { method: "PUT", path: "/v1/coordinate/update", template: { Node: "adv", Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1, Adjustment: 0, Height: 0 } } },
  { method: "POST", path: "/v1/agent/connect/authorize", template: { Target: "b", ClientCertURI: "spiffe://x.consul/ns/default/dc/dc1/svc/a" } },
  { method: "PUT", path: "/v1/connect/ca/configuration", template: { Provider: "consul", Config: { LeafCertTTL: "72h" } } },
  { method: "POST", path: "/v1/discovery-chain/fzs", template: { OverrideProtocol: "http", OverrideConnectTimeout: "5s" } },
  { method: "PUT", path: "/v1/acl/policy", template: { Name: "fzp", Rules: "key \"\" { policy = \"read\" }" } },
  { method: "PUT", path: "/v1/acl/token", template: { Description: "fz", Policies: [{ Name: "fzp" }] } },
  { method: "PUT", path: "/v1/acl/role", template: { Name: "fzr", Policies: [{ Name: "fzp" }], ServiceIdentities: [{ ServiceName: "fzs" }] } },
  { method: "PUT", path: "/v1/acl/auth-method", template: { Name: "fzm", Type: "jwt", Config: { JWTValidationPubKeys: ["x"] } } },
  { method: "PUT", path: "/v1/acl/binding-rule", template: { AuthMethod: "fzm", BindType: "service", BindName: "fzs", Selector: "" } },
  { method: "POST", path: "/v1/acl/login", template: { AuthMethod: "fzm", BearerToken: "x.y.z", Meta: { a: "b" } } },
  { method: "PUT", path: "/v1/query/8f246b77-f3e1-ff88-5b48-8ec93abf3e05", template: { Name: "fzq2", Service: { Service: "fzs" } } },
  { method: "PUT", path: "/v1/connect/intentions/e9ebc19f-d481-42b1-4871-4d298d3acd5c", template: { SourceName: "a", DestinationName: "b", Action: "deny" } },
  { method: "PUT", path: "/v1/operator/autopilot/configuration", template: { CleanupDeadServers: true, LastContactThreshold: "200ms", MaxTrailingLogs: 250, ServerStabilizationTime: "10s" } },
  { method: "POST", path: "/v1/operator/keyring", template: { Key: "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=" } },
];

/**
 * Consul answers many validation failures from its RPC layer with 500 and its
 * message ("Must provide node"), and so do we; a 500 whose text is a runtime
 * error instead (a stack overflow, a TypeError) is a crash the fuzzer found.
 */
const CRASH = /call stack|TypeError|RangeError|ReferenceError|SyntaxError|is not a function|is not an object|Cannot read|undefined is not|Internal Server Error/;

let agent: Target;
beforeAll(async () => {
  agent = await startTarget();
}, 60_000);
afterAll(async () => {
  await agent?.stop();
});

/** State written before the run; it must read back unchanged after every round. */
async function seedState(base: string): Promise<() => Promise<string | null>> {
  const put = (path: string, body: string) => fetch(`${base}${path}`, { method: "PUT", body }).then((r) => r.status);
  expect(await put("/v1/kv/anchor/key?flags=18446744073709551615", "anchor value")).toBe(200);
  expect(await put("/v1/catalog/register", JSON.stringify({ Node: "anchor-node", Address: "10.8.0.1", Service: { ID: "anchor-svc", Service: "anchor", Port: 1234 } }))).toBe(200);
  return async () => {
    const kv = await fetch(`${base}/v1/kv/anchor/key`);
    if (kv.status !== 200) return `anchor key answered ${kv.status}`;
    const [entry] = (await kv.json()) as { Value: string; Flags: number }[];
    if (atob(entry!.Value) !== "anchor value") return "anchor key's value changed";
    if (!/"Flags": ?18446744073709551615[,\n]/.test(await (await fetch(`${base}/v1/kv/anchor/key`)).text())) return "anchor key's flags changed";
    const node = await fetch(`${base}/v1/catalog/node/anchor-node`);
    const body = (await node.json()) as { Services?: Record<string, { Port: number }> } | null;
    if (body?.Services?.["anchor-svc"]?.Port !== 1234) return "anchor service changed";
    return null;
  };
}

test("fuzzed JSON bodies on every write endpoint leave the agent answering, its state intact and its memory bounded", async () => {
  const r = seeded(SEED);
  const intact = await seedState(agent.base);
  const rssStart = await rssOf(agent.child.pid!);
  let rssMax = rssStart;
  const fiveHundreds: string[] = [];
  const statuses = new Map<number, number>();
  const started = performance.now();
  let requests = 0;
  let rounds = 0;
  while (performance.now() - started < BUDGET_MS) {
    rounds++;
    for (let i = 0; i < 25; i++) {
      const ep = ENDPOINTS[Math.floor(r() * ENDPOINTS.length)]!;
      const roll = r();
      const body = roll < 0.4 ? mutate(r, ep.template) : roll < 0.7 ? randomValue(r) : breakText(r, JSON.stringify(ep.template));
      const res = await fetch(`${agent.base}${ep.path}`, { method: ep.method, body, signal: AbortSignal.timeout(15_000) });
      const text = await res.text();
      requests++;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) fiveHundreds.push(`${ep.method} ${ep.path} ${res.status} ${text.slice(0, 160)} <- ${body.slice(0, 160)}`);
    }
    const alive = await probeHttp(agent.base, 5000);
    expect(alive.ok).toBe(true);
    expect(await intact()).toBeNull();
    rssMax = Math.max(rssMax, await rssOf(agent.child.pid!));
  }
  const mb = (n: number) => (n / 1048576).toFixed(0);
  console.log(
    `fuzz seed ${SEED}: ${requests} requests in ${rounds} rounds over ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
      `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; RSS ${mb(rssStart)} -> max ${mb(rssMax)} MiB`,
  );
  const kinds = new Map<string, number>();
  for (const line of fiveHundreds) {
    const kind = line.split(" <- ")[0]!.replace(/\s+/g, " ").slice(0, 110);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  for (const [kind, n] of kinds) console.log(`  5xx x${n}: ${kind}`);
  const crashes = fiveHundreds.filter((l) => CRASH.test(l.split(" <- ")[0]!));
  expect(crashes).toEqual([]);
  // Bodies are at most a few MB each; growth past this would be a leak or an unbounded buffer.
  expect(rssMax).toBeLessThan(rssStart + 512 * 1048576);
}, 120_000);
