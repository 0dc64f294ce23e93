import { afterAll, describe, expect, test } from "bun:test";
import { NODE, register, startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

interface Check {
  Node: string;
  CheckID: string;
  Name: string;
  Status: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
}
interface Instance {
  Node: { Node: string; Meta: Record<string, string> };
  Service: { ID: string; Service: string; Tags: string[] };
  Checks: Check[];
}

const CHECK_KEYS = ["Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName", "ServiceTags", "Type"];

// api-1: all passing; api-2: service check warning; api-3: node check critical.
await register(h, {
  Node: "h1",
  Address: "10.0.0.1",
  NodeMeta: { zone: "a" },
  Service: { Service: "api", ID: "api-1", Port: 80, Tags: ["blue", "canary"] },
  Checks: [
    { CheckID: "node-ok", Name: "node", Status: "passing" },
    { CheckID: "api-1-http", Name: "http", Status: "passing", ServiceID: "api-1" },
  ],
});
await register(h, {
  Node: "h2",
  Address: "10.0.0.2",
  NodeMeta: { zone: "b" },
  Service: { Service: "api", ID: "api-2", Port: 80, Tags: ["green"] },
  Checks: [{ CheckID: "api-2-http", Name: "http", Status: "warning", ServiceID: "api-2" }],
});
await register(h, {
  Node: "h3",
  Address: "10.0.0.3",
  NodeMeta: { zone: "a" },
  Service: { Service: "api", ID: "api-3", Port: 80, Tags: ["blue"] },
  Checks: [
    { CheckID: "disk", Name: "disk", Status: "critical" },
    { CheckID: "api-3-http", Name: "http", Status: "passing", ServiceID: "api-3" },
  ],
});
await register(h, { Node: "h4", Address: "10.0.0.4", Service: { Service: "bare", Port: 1 } });

const ids = (rows: Instance[]) => rows.map((r) => r.Service.ID);

describe("health/service/:service", () => {
  test("every instance with its node and the checks that bear on it (node + own service)", async () => {
    const rows = await h.getJson<Instance[]>("/v1/health/service/api");
    expect(ids(rows)).toEqual(["api-1", "api-2", "api-3"]);
    expect(rows.map((r) => Object.keys(r))).toEqual([
      ["Node", "Service", "Checks"],
      ["Node", "Service", "Checks"],
      ["Node", "Service", "Checks"],
    ]);
    expect(rows[0]!.Checks.map((c) => c.CheckID).sort()).toEqual(["api-1-http", "node-ok"]);
    expect(rows[2]!.Checks.map((c) => c.CheckID).sort()).toEqual(["api-3-http", "disk"]);
    for (const c of rows[0]!.Checks) for (const k of CHECK_KEYS) expect(Object.keys(c)).toContain(k);
  });

  test("an instance with no checks has Checks [] and Tags []", async () => {
    const text = await (await h.get("/v1/health/service/bare")).text();
    expect(text).toContain('"Checks":[]');
    expect(text).toContain('"Tags":[]');
  });

  test("?passing drops warning and critical instances, including a critical node check", async () => {
    for (const q of ["passing", "passing=", "passing=true", "passing=1", "passing=T", "passing=TRUE"]) {
      expect({ q, ids: ids(await h.getJson<Instance[]>(`/v1/health/service/api?${q}`)) }).toEqual({ q, ids: ["api-1"] });
    }
    for (const q of ["passing=false", "passing=0", "passing=F"]) {
      expect(ids(await h.getJson<Instance[]>(`/v1/health/service/api?${q}`))).toEqual(["api-1", "api-2", "api-3"]);
    }
  });

  test("a bad ?passing value is 400 Invalid value for ?passing", async () => {
    for (const q of ["passing=yes", "passing=2", "passing=tRuE"]) {
      const res = await h.get(`/v1/health/service/api?${q}`);
      expect({ q, status: res.status }).toEqual({ q, status: 400 });
      expect(await res.text()).toBe("Invalid value for ?passing");
    }
  });

  test("tag (repeatable, AND, case-insensitive)", async () => {
    expect(ids(await h.getJson<Instance[]>("/v1/health/service/api?tag=blue"))).toEqual(["api-1", "api-3"]);
    expect(ids(await h.getJson<Instance[]>("/v1/health/service/api?tag=BLUE&tag=canary"))).toEqual(["api-1"]);
    expect(ids(await h.getJson<Instance[]>("/v1/health/service/api?tag=blue&passing"))).toEqual(["api-1"]);
    expect(ids(await h.getJson<Instance[]>("/v1/health/service/api?tag=nope"))).toEqual([]);
  });

  test("node-meta and filter", async () => {
    expect(ids(await h.getJson<Instance[]>("/v1/health/service/api?node-meta=zone:a"))).toEqual(["api-1", "api-3"]);
    const f = (expr: string) => `/v1/health/service/api?filter=${encodeURIComponent(expr)}`;
    expect(ids(await h.getJson<Instance[]>(f('Node.Meta.zone == "b"')))).toEqual(["api-2"]);
    expect(ids(await h.getJson<Instance[]>(f('"green" in Service.Tags')))).toEqual(["api-2"]);
    expect(ids(await h.getJson<Instance[]>(f('Checks.Status contains "critical"')))).toEqual(["api-3"]);
    const bad = await h.get(f("Nope == 1"));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toStartWith("Failed to create boolean expression evaluator");
  });

  test("an unknown service answers []", async () => {
    expect(await (await h.get("/v1/health/service/ghost")).text()).toBe("[]");
    expect(await (await h.get("/v1/health/service/ghost?passing")).text()).toBe("[]");
  });

  test("near is accepted", async () => {
    expect(ids(await h.getJson<Instance[]>("/v1/health/service/api?near=_agent")).sort()).toEqual(["api-1", "api-2", "api-3"]);
  });

  test("a check turning critical drops the instance from ?passing; recovering brings it back", async () => {
    const set = (status: string) =>
      register(h, { Node: "h1", Address: "10.0.0.1", NodeMeta: { zone: "a" }, Check: { CheckID: "node-ok", Name: "node", Status: status } });
    await set("critical");
    expect(ids(await h.getJson<Instance[]>("/v1/health/service/api?passing"))).toEqual([]);
    await set("passing");
    expect(ids(await h.getJson<Instance[]>("/v1/health/service/api?passing"))).toEqual(["api-1"]);
  });
});

describe("health/node, checks, state", () => {
  test("node/:node lists that node's checks (node and service level); unknown node []", async () => {
    const checks = await h.getJson<Check[]>("/v1/health/node/h3");
    expect(checks.map((c) => c.CheckID).sort()).toEqual(["api-3-http", "disk"]);
    const svc = checks.find((c) => c.CheckID === "api-3-http")!;
    expect(svc).toMatchObject({ Node: "h3", ServiceID: "api-3", ServiceName: "api", ServiceTags: ["blue"], Status: "passing" });
    const node = checks.find((c) => c.CheckID === "disk")!;
    expect(node).toMatchObject({ ServiceID: "", ServiceName: "", ServiceTags: [] });
    expect(await (await h.get("/v1/health/node/ghost")).text()).toBe("[]");
  });

  test("the server's own serfHealth check is there", async () => {
    const checks = await h.getJson<Check[]>(`/v1/health/node/${NODE}`);
    expect(checks.find((c) => c.CheckID === "serfHealth")).toMatchObject({ Name: "Serf Health Status", Status: "passing" });
  });

  test("checks/:service lists the service's own checks only", async () => {
    const checks = await h.getJson<Check[]>("/v1/health/checks/api");
    expect(checks.map((c) => c.CheckID).sort()).toEqual(["api-1-http", "api-2-http", "api-3-http"]);
    expect(await (await h.get("/v1/health/checks/ghost")).text()).toBe("[]");
  });

  test("checks/:service honours node-meta and filter", async () => {
    const byMeta = await h.getJson<Check[]>("/v1/health/checks/api?node-meta=zone:a");
    expect(byMeta.map((c) => c.CheckID).sort()).toEqual(["api-1-http", "api-3-http"]);
    const byFilter = await h.getJson<Check[]>(`/v1/health/checks/api?filter=${encodeURIComponent('Status == "warning"')}`);
    expect(byFilter.map((c) => c.CheckID)).toEqual(["api-2-http"]);
  });

  test("state/:state for any, passing, warning, critical", async () => {
    const of = async (state: string) => (await h.getJson<Check[]>(`/v1/health/state/${state}`)).map((c) => `${c.Node}/${c.CheckID}`);
    expect(await of("warning")).toEqual(["h2/api-2-http"]);
    expect(await of("critical")).toEqual(["h3/disk"]);
    const passing = await of("passing");
    expect(passing).toContain("h1/node-ok");
    expect(passing).toContain(`${NODE}/serfHealth`);
    expect(passing).not.toContain("h2/api-2-http");
    const any = await of("any");
    expect(any.length).toBe(passing.length + 2);
  });

  test("state/:state honours node-meta and filter", async () => {
    const byMeta = await h.getJson<Check[]>("/v1/health/state/any?node-meta=zone:a");
    expect(byMeta.map((c) => `${c.Node}/${c.CheckID}`).sort()).toEqual(["h1/api-1-http", "h1/node-ok", "h3/api-3-http", "h3/disk"]);
    const byFilter = await h.getJson<Check[]>(`/v1/health/state/any?filter=${encodeURIComponent('ServiceName == "api"')}`);
    expect(byFilter).toHaveLength(3);
  });

  test("a bad state is 400", async () => {
    const res = await h.get("/v1/health/state/sick");
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("sick");
  });
});
