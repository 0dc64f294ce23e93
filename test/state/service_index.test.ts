/**
 * The per-service-name indexes (src/state/service_index.ts) against brute
 * force over the tables, after random registrations, check changes,
 * deregistrations, refused commands (rolled back) and a snapshot restore.
 */
import { describe, expect, test } from "bun:test";
import { catalogRead, MessageType, StateStore } from "../../src/state/mod.ts";
import type { Tables } from "../../src/state/tables.ts";
import { HealthPartition, InstanceHealth } from "../../src/state/service_index.ts";
import { check, deregisterCmd, registerCmd, registration, service } from "./helpers.ts";
import { seeded } from "../dns/_fixture.ts";

const STATUSES = ["passing", "warning", "critical"] as const;

function bruteHealthy(t: Tables, name: string, onlyPassing: boolean): string[] {
  return catalogRead
    .checkServiceNodes(t, name)
    .value.filter((i) => i.Checks.every((c) => c.Status !== "critical" && (!onlyPassing || c.Status === "passing")))
    .map((i) => `${i.Node.Node}\u0000${i.Service.ID}`)
    .sort();
}

function setKeys(s: { size: number; at(i: number): string }): string[] {
  return Array.from({ length: s.size }, (_, i) => s.at(i)).sort();
}

function expectConsistent(t: Tables): void {
  const names = new Set([...t.services.values()].map((r) => r.Service.Service));
  expect(new Set(t.servicesByName.keys())).toEqual(names);
  for (const name of names) {
    const rows = [...t.services.values()].filter((r) => r.Service.Service === name);
    const sorted = rows.map((r) => `${r.Node}\u0000${r.Service.ID}`).sort((a, b) => (a < b ? -1 : 1));
    expect(t.instancesOf(name).map((r) => `${r.Node}\u0000${r.Service.ID}`)).toEqual(sorted);
    expect(t.servicesByName.tags(name).sort()).toEqual([...new Set(rows.flatMap((r) => r.Service.Tags))].sort());
    const h = t.servicesByName.healthy(name)!;
    expect(setKeys(h.notCritical)).toEqual(bruteHealthy(t, name, false));
    expect(setKeys(h.passing)).toEqual(bruteHealthy(t, name, true));
  }
}

describe("service name index", () => {
  test("ordered keys, tags and healthy sets follow every write, rollback and restore", () => {
    const store = new StateStore();
    const random = seeded(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    let index = 0;
    for (let step = 0; step < 600; step++) {
      const node = `n${Math.floor(random() * 12)}`;
      const id = `s${Math.floor(random() * 4)}`;
      const r = random();
      if (r < 0.45) {
        const name = pick(["web", "db", "Web"]);
        const req = registration(node, {
          Service: service(id, name, { Tags: [pick(["a", "b", "c"]), pick(["a", "d"])] }),
          Checks: [check(node, `chk-${id}`, { ServiceID: id, Status: pick(STATUSES) })],
        });
        store.apply(++index, registerCmd(req));
      } else if (r < 0.65) {
        store.apply(++index, registerCmd(registration(node, { Checks: [check(node, "serfHealth", { Status: pick(STATUSES) })] })));
      } else if (r < 0.75) {
        // Refused whole: the service's check names a service that does not exist (rolled back after the node write).
        const res = store.apply(++index, registerCmd(registration(`fresh${step}`, { Checks: [check(`fresh${step}`, "x", { ServiceID: "missing" })] })));
        expect(res.ok).toBe(false);
      } else if (r < 0.9) {
        store.apply(++index, deregisterCmd(node, id));
      } else if (r < 0.95) {
        store.apply(++index, deregisterCmd(node, "", "serfHealth"));
      } else {
        store.apply(++index, deregisterCmd(node));
      }
      if (step % 50 === 0) expectConsistent(store.t);
    }
    expectConsistent(store.t);
    const copy = new StateStore();
    copy.restore(store.snapshot());
    expectConsistent(copy.t);
    expect(copy.t.servicesByName.size).toBe(store.t.servicesByName.size);
    // A node ID names one node; another node may not take it.
    expect(store.apply(++index, registerCmd(registration("idnode", { ID: "1b4e28ba-2fa1-11d2-883f-0016d3cca427" }))).ok).toBe(true);
    const alias = store.apply(++index, registerCmd(registration("other", { ID: "1b4e28ba-2fa1-11d2-883f-0016d3cca427" })));
    expect(alias).toEqual({ ok: false, error: 'failed inserting node: Error ensuring node: node ID "1b4e28ba-2fa1-11d2-883f-0016d3cca427" for node "other" aliases existing node "idnode"' });
    expect(store.apply(++index, { Type: MessageType.Deregister, Now: 0, Req: { Node: "idnode", ServiceID: "", CheckID: "" } }).ok).toBe(true);
    expect(store.apply(++index, registerCmd(registration("other", { ID: "1b4e28ba-2fa1-11d2-883f-0016d3cca427" }))).ok).toBe(true);
  });
});

describe("health partition", () => {
  test("its passing and not-critical views match a model after random adds, moves and deletes", () => {
    const p = new HealthPartition();
    const model = new Map<string, InstanceHealth>();
    const random = seeded(11);
    const levels = [InstanceHealth.Passing, InstanceHealth.NotCritical, InstanceHealth.Critical];
    const members = (min: InstanceHealth) => [...model].filter(([, h]) => h >= min).map(([k]) => k).sort();
    for (let step = 0; step < 5000; step++) {
      const key = `k${Math.floor(random() * 40)}`;
      const r = random();
      if (r < 0.3) {
        expect(p.add(key)).toBe(!model.has(key));
        if (!model.has(key)) model.set(key, InstanceHealth.Critical);
      } else if (r < 0.45) {
        expect(p.delete(key)).toBe(model.delete(key));
      } else {
        const h = levels[Math.floor(random() * 3)]!;
        p.setHealth(key, h);
        if (model.has(key)) model.set(key, h);
      }
      expect(p.size).toBe(model.size);
      expect(p.health(key)).toBe(model.get(key) ?? InstanceHealth.Critical);
      expect(setKeys(p.passing)).toEqual(members(InstanceHealth.Passing));
      expect(setKeys(p.notCritical)).toEqual(members(InstanceHealth.NotCritical));
      expect(p.passing.has(key)).toBe(model.get(key) === InstanceHealth.Passing);
      expect(p.notCritical.has(key)).toBe((model.get(key) ?? InstanceHealth.Critical) !== InstanceHealth.Critical);
      expect([...p.keys()].sort()).toEqual([...model.keys()].sort());
    }
  });
});
