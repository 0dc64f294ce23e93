import { afterAll, describe, expect, test } from "bun:test";
import { createSession, NODE, register, startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

interface Session {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: string;
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: { ID: string; Namespace: string }[] | null;
  CreateIndex: number;
  ModifyIndex: number;
}

async function info(id: string): Promise<Session | undefined> {
  return (await h.getJson<Session[]>(`/v1/session/info/${id}`))[0];
}

describe("create", () => {
  test("defaults: this node, serfHealth, 15s lock delay in ns, release", async () => {
    const res = await h.put("/v1/session/create");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ID: string };
    expect(Object.keys(body)).toEqual(["ID"]);
    expect(body.ID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const s = await info(body.ID);
    expect(s).toMatchObject({
      ID: body.ID,
      Name: "",
      Node: NODE,
      LockDelay: 15_000_000_000,
      Behavior: "release",
      TTL: "",
      NodeChecks: ["serfHealth"],
    });
    expect(Object.keys(s!)).toEqual(["ID", "Name", "Node", "LockDelay", "Behavior", "TTL", "NodeChecks", "ServiceChecks", "CreateIndex", "ModifyIndex"]);
    expect(s!.CreateIndex).toBe(s!.ModifyIndex);
  });

  test("an empty JSON object gets the same defaults", async () => {
    const s = await info(await createSession(h, {}));
    expect(s).toMatchObject({ LockDelay: 15_000_000_000, Behavior: "release", NodeChecks: ["serfHealth"] });
  });

  test("the lowercase body python-consul and Patroni send", async () => {
    const id = await createSession(h, { name: "patroni", lockdelay: "0.001s", behavior: "delete", ttl: "30s", checks: [] });
    const s = await info(id);
    expect(s).toMatchObject({ Name: "patroni", LockDelay: 1_000_000, Behavior: "delete", TTL: "30s" });
    expect(s!.NodeChecks ?? []).toEqual([]);
  });

  test("LockDelay: numbers below 1000 are seconds, larger numbers nanoseconds, strings Go durations", async () => {
    const cases: [unknown, number][] = [
      [5, 5_000_000_000],
      [0, 0],
      [999, 60_000_000_000], // 999s, capped at Consul's 60s maximum
      [2_000_000_000, 2_000_000_000],
      ["10s", 10_000_000_000],
      ["250ms", 250_000_000],
      ["20ns", 20_000_000_000], // below the 1000ns threshold a string is seconds too
      [-5, -5_000_000_000], // accepted as Consul does; a negative delay never holds a key
    ];
    for (const [given, ns] of cases) {
      const s = await info(await createSession(h, { LockDelay: given }));
      expect({ given, LockDelay: s!.LockDelay }).toEqual({ given, LockDelay: ns });
    }
  });

  test("Checks vs NodeChecks follow Consul's fixupEmptySessionChecks", async () => {
    await register(h, { Node: NODE, Address: "10.1.2.3", Check: { CheckID: "extra", Name: "extra", Status: "passing" } });
    const watched = async (body: Record<string, unknown>) => [...((await info(await createSession(h, body)))!.NodeChecks ?? [])].sort();
    // A legacy Checks list adds to the default serfHealth node check.
    expect(await watched({ Checks: ["extra"] })).toEqual(["extra", "serfHealth"]);
    // An empty Checks clears even an explicit NodeChecks (Consul's backwards-compatibility rule).
    expect(await watched({ Checks: [], NodeChecks: ["extra"] })).toEqual([]);
    expect(await watched({ NodeChecks: ["extra"] })).toEqual(["extra"]);
    expect(await watched({ NodeChecks: [] })).toEqual([]);
    // ...and an empty NodeChecks drops a Checks list just the same.
    expect(await watched({ NodeChecks: [], Checks: ["extra"] })).toEqual([]);
    expect(await watched({ Checks: ["serfHealth"] })).toEqual(["serfHealth"]);
  });

  test("LockDelay that is not a duration is 400", async () => {
    for (const bad of ["20", "soon", true]) {
      const res = await h.put("/v1/session/create", { LockDelay: bad });
      expect(res.status).toBe(400);
      expect(await res.text()).toStartWith("Request decode failed");
    }
  });

  test("NodeChecks and ServiceChecks are kept; only listed checks are watched", async () => {
    await register(h, {
      Node: NODE,
      Address: "10.1.2.3",
      Service: { Service: "db", ID: "db1", Port: 5432 },
      Checks: [
        { CheckID: "disk", Name: "disk", Status: "passing" },
        { CheckID: "db-alive", Name: "db", Status: "passing", ServiceID: "db1" },
      ],
    });
    const id = await createSession(h, { NodeChecks: ["serfHealth", "disk"], ServiceChecks: [{ ID: "db-alive" }] });
    const s = await info(id);
    expect(s!.NodeChecks).toEqual(["serfHealth", "disk"]);
    expect(s!.ServiceChecks).toEqual([{ ID: "db-alive", Namespace: "" }]);
    // A watched check going critical invalidates the session.
    await register(h, { Node: NODE, Address: "10.1.2.3", Check: { CheckID: "disk", Name: "disk", Status: "critical" } });
    expect(await info(id)).toBeUndefined();
  });

  test("a session cannot be created on a critical check or an unknown node", async () => {
    await register(h, { Node: NODE, Address: "10.1.2.3", Check: { CheckID: "bad", Name: "bad", Status: "critical" } });
    const res = await h.put("/v1/session/create", { NodeChecks: ["bad"] });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain("Check 'bad' is in critical state");
    const res2 = await h.put("/v1/session/create", { Node: "no-such-node" });
    expect(res2.status).toBe(500);
    expect(await res2.text()).toContain("Missing node registration");
  });

  test("TTL bounds: 400 Invalid Session TTL with the value in ns", async () => {
    for (const [ttl, ns] of [
      ["5s", "5000000000"],
      ["25h", "90000000000000"],
    ]) {
      const res = await h.put("/v1/session/create", { TTL: ttl });
      expect(res.status).toBe(400);
      expect(await res.text()).toBe(`Invalid Session TTL '${ns}', must be between [10s=24h0m0s]`);
    }
    const bad = await h.put("/v1/session/create", { TTL: "soon" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toStartWith("Session TTL 'soon' invalid");
    for (const ok of ["10s", "24h", "0s"]) expect((await h.put("/v1/session/create", { TTL: ok })).status).toBe(200);
  });

  test("an invalid behavior is 500; a malformed body is 400; nothing is created", async () => {
    const before = (await h.getJson<Session[]>("/v1/session/list")).length;
    const res = await h.put("/v1/session/create", { Behavior: "explode" });
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("Invalid Behavior setting 'explode'");
    const malformed = await h.put("/v1/session/create", "{not json");
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toStartWith("Request decode failed");
    const wrongType = await h.put("/v1/session/create", { Name: 5 });
    expect(wrongType.status).toBe(400);
    expect((await h.getJson<Session[]>("/v1/session/list")).length).toBe(before);
  });
});

describe("reads", () => {
  test("info, list and node answer [] (not null) when empty", async () => {
    const fresh = await startHarness();
    try {
      for (const path of ["/v1/session/info/00000000-0000-0000-0000-000000000000", "/v1/session/list", `/v1/session/node/${NODE}`, "/v1/session/node/nobody"]) {
        const res = await fresh.get(path);
        expect(res.status).toBe(200);
        expect(await res.text()).toBe("[]");
      }
    } finally {
      await fresh.stop();
    }
  });

  test("node lists the sessions of that node only; list has them all", async () => {
    await register(h, { Node: "other", Address: "10.9.9.9" });
    const mine = await createSession(h, { Name: "mine" });
    const theirs = await createSession(h, { Name: "theirs", Node: "other", Checks: [] });
    const ofOther = await h.getJson<Session[]>("/v1/session/node/other");
    expect(ofOther.map((s) => s.ID)).toEqual([theirs]);
    const ofMine = await h.getJson<Session[]>(`/v1/session/node/${NODE}`);
    expect(ofMine.map((s) => s.ID)).toContain(mine);
    expect(ofMine.map((s) => s.ID)).not.toContain(theirs);
    const all = (await h.getJson<Session[]>("/v1/session/list")).map((s) => s.ID);
    expect(all).toContain(mine);
    expect(all).toContain(theirs);
  });

  test("missing session id or node name is 400", async () => {
    for (const [method, path, msg] of [
      ["GET", "/v1/session/info/", "Missing session"],
      ["PUT", "/v1/session/renew/", "Missing session"],
      ["PUT", "/v1/session/destroy/", "Missing session"],
      ["GET", "/v1/session/node/", "Missing node name"],
    ] as const) {
      const res = await h.request(path, { method });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(await res.text()).toBe(msg);
    }
  });
});

describe("renew and destroy", () => {
  test("renew answers the session in an array; unknown is 404 with Consul's text", async () => {
    const id = await createSession(h, { TTL: "15s" });
    const res = await h.put(`/v1/session/renew/${id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Session[];
    expect(body).toHaveLength(1);
    expect(body[0]!.ID).toBe(id);
    expect(body[0]!.TTL).toBe("15s");
    // Renew is not a blocking query, even when a client sends ?index.
    const current = (await h.get("/v1/session/list")).headers.get("X-Consul-Index");
    const started = Date.now();
    expect((await h.put(`/v1/session/renew/${id}?index=${current}&wait=2s`)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(500);
    const unknown = "8f246b77-f3e1-ff88-5b48-8ec93abf3e05";
    const miss = await h.put(`/v1/session/renew/${unknown}`);
    expect(miss.status).toBe(404);
    expect(await miss.text()).toBe(`Session id '${unknown}' not found`);
  });

  test("destroy answers true, is idempotent, and releases the session's locks", async () => {
    const id = await createSession(h);
    expect(await h.putJson(`/v1/kv/sess/lock?acquire=${id}`, "held")).toBe(true);
    expect(await h.putJson(`/v1/session/destroy/${id}`)).toBe(true);
    expect(await h.putJson(`/v1/session/destroy/${id}`)).toBe(true);
    expect(await info(id)).toBeUndefined();
    const text = await (await h.get("/v1/kv/sess/lock")).text();
    expect(text).not.toContain('"Session"');
    const [e] = JSON.parse(text) as { Value: string; LockIndex: number }[];
    expect(atob(e!.Value)).toBe("held");
    expect(e!.LockIndex).toBe(1);
  });

  test("destroying a delete-behavior session deletes its keys", async () => {
    const id = await createSession(h, { Behavior: "delete" });
    await h.putJson(`/v1/kv/sess/eph?acquire=${id}`, "x");
    await h.putJson(`/v1/session/destroy/${id}`);
    expect((await h.get("/v1/kv/sess/eph")).status).toBe(404);
  });

  test("the lock delay holds the key after an invalidation, then lets go", async () => {
    const id = await createSession(h, { LockDelay: "10s" });
    await h.putJson(`/v1/kv/sess/delayed?acquire=${id}`, "x");
    await h.putJson(`/v1/session/destroy/${id}`);
    const next = await createSession(h);
    expect(await h.putJson(`/v1/kv/sess/delayed?acquire=${next}`, "y")).toBe(false);
    h.clock.advance(10_001);
    expect(await h.putJson(`/v1/kv/sess/delayed?acquire=${next}`, "y")).toBe(true);
  });

  test("a session with lock delay 0 can be re-acquired at once", async () => {
    const id = await createSession(h, { LockDelay: 0 });
    await h.putJson(`/v1/kv/sess/nodelay?acquire=${id}`, "x");
    await h.putJson(`/v1/session/destroy/${id}`);
    const next = await createSession(h);
    expect(await h.putJson(`/v1/kv/sess/nodelay?acquire=${next}`, "y")).toBe(true);
  });
});

describe("TTL expiry (fake clock)", () => {
  test("a session not renewed within 2×TTL is destroyed and its locks released", async () => {
    const id = await createSession(h, { TTL: "10s", LockDelay: 0 });
    await h.putJson(`/v1/kv/ttl/lock?acquire=${id}`, "x");
    h.clock.advance(19_000);
    expect(await info(id)).toBeDefined();
    h.clock.advance(1_001);
    expect(await info(id)).toBeUndefined();
    expect(await (await h.get("/v1/kv/ttl/lock")).text()).not.toContain('"Session"');
  });

  test("renewing restarts the 2×TTL timer", async () => {
    const id = await createSession(h, { TTL: "10s" });
    h.clock.advance(15_000);
    expect((await h.put(`/v1/session/renew/${id}`)).status).toBe(200);
    h.clock.advance(15_000);
    expect(await info(id)).toBeDefined();
    h.clock.advance(5_001);
    expect(await info(id)).toBeUndefined();
    expect((await h.put(`/v1/session/renew/${id}`)).status).toBe(404);
  });

  test("sessions without a TTL never expire; destroy stops the timer", async () => {
    const forever = await createSession(h);
    const ttl = await createSession(h, { TTL: "10s" });
    expect(h.server.sessions.armedIds()).toContain(ttl);
    expect(h.server.sessions.armedIds()).not.toContain(forever);
    await h.putJson(`/v1/session/destroy/${ttl}`);
    expect(h.server.sessions.armedIds()).not.toContain(ttl);
    h.clock.advance(48 * 3_600_000);
    expect(await info(forever)).toBeDefined();
  });
});

describe("blocking info", () => {
  test("a blocking /v1/session/info wakes when its session goes, not when another one comes or goes", async () => {
    const id = await createSession(h);
    const idx = Number((await h.get(`/v1/session/info/${id}`)).headers.get("X-Consul-Index"));
    let woke = false;
    const parked = h.get(`/v1/session/info/${id}?index=${idx}&wait=20s`).then(async (r) => {
      woke = true;
      return r;
    });
    // Other sessions come and go: the info of this one stays parked.
    const other = await createSession(h);
    await h.put(`/v1/session/destroy/${other}`);
    await Bun.sleep(300);
    expect(woke).toBe(false);
    await h.put(`/v1/session/destroy/${id}`);
    const res = await parked;
    expect(Number(res.headers.get("X-Consul-Index"))).toBeGreaterThan(idx);
    expect(await res.json()).toEqual([]);
  });
});
