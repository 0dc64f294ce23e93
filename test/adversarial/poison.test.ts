/**
 * Finding 3 of the hardening issue: a connect-proxy registration whose
 * Proxy.Config nested 6,000 levels deep was accepted, then broke
 * /v1/agent/services, anti-entropy and persistence, so later registrations
 * were lost on restart. Deep values are refused with 400 before they reach
 * local state, and a following registration survives a restart.
 */
import { afterAll, expect, test } from "bun:test";
import { startAgent, tempDir, type AgentProcess } from "../e2e/_agent.ts";

const running: AgentProcess[] = [];
const dirs: { remove(): Promise<void> }[] = [];
afterAll(async () => {
  for (const a of running) await a.kill();
  for (const d of dirs) await d.remove();
});

function nested(depth: number): unknown {
  let v: unknown = "leaf";
  for (let i = 0; i < depth; i++) v = { k: v };
  return v;
}

const put = (base: string, path: string, body: unknown) =>
  fetch(`${base}${path}`, { method: "PUT", body: typeof body === "string" ? body : JSON.stringify(body) }).then(async (r) => ({ status: r.status, text: await r.text() }));

test("a deep Proxy.Config is refused with 400, and the agent keeps serving and persisting the others", async () => {
  const dir = await tempDir("adv-poison-");
  dirs.push(dir);
  const args = ["-server", "-bootstrap", "-node", "adv-poison", "-data-dir", `${dir.path}/data`];
  const a = await startAgent(args);
  running.push(a);

  // JSON.stringify itself cannot write 6,000 levels on every runtime, so the body is built as text.
  const deep = `{"Kind":"connect-proxy","Name":"evil-proxy","Port":21000,"Proxy":{"DestinationServiceName":"web","Config":${'{"k":'.repeat(6000)}1${"}".repeat(6000)}}}`;
  const refused = await put(a.base, "/v1/agent/service/register", deep);
  expect(refused.status).toBe(400);
  expect(refused.text).toContain("nested deeper than");

  const catalogDeep = await put(a.base, "/v1/catalog/register", `{"Node":"n1","Address":"10.0.0.1","NodeMeta":${'{"k":'.repeat(6000)}1${"}".repeat(6000)}}`);
  expect(catalogDeep.status).toBe(400);
  const entryDeep = await put(a.base, "/v1/config", `{"Kind":"service-defaults","Name":"web","Meta":${'{"k":'.repeat(6000)}1${"}".repeat(6000)}}`);
  expect(entryDeep.status).toBe(400);

  // Nesting within the limit is an ordinary opaque config.
  const ok = await put(a.base, "/v1/agent/service/register", { Kind: "connect-proxy", Name: "fine-proxy", Port: 21001, Proxy: { DestinationServiceName: "web", Config: nested(40) } });
  expect(ok.status).toBe(200);
  expect((await put(a.base, "/v1/agent/service/register", { Name: "after", Port: 8080 })).status).toBe(200);
  const services = await fetch(`${a.base}/v1/agent/services`);
  expect(services.status).toBe(200);
  expect(Object.keys((await services.json()) as object).sort()).toEqual(["after", "fine-proxy"]);
  expect(await a.stop()).toBe(0);
  running.splice(running.indexOf(a), 1);

  const b = await startAgent(args);
  running.push(b);
  const again = await fetch(`${b.base}/v1/agent/services`);
  expect(again.status).toBe(200);
  expect(Object.keys((await again.json()) as object).sort()).toEqual(["after", "fine-proxy"]);
}, 60_000);
