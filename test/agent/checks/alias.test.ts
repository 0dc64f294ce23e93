import { expect, test } from "bun:test";
import {
  ALIAS_REFRESH_MS,
  type AliasCheckView,
  type AliasSource,
  type AliasTarget,
  createRunner,
  decodeCheckDefinition,
} from "../../../src/agent/checks/mod.ts";
import { FakeClock, settle } from "../../_fake_clock.ts";
import { recorder } from "./_helpers.ts";

/** A stand-in for the agent's local state: checks by id, services, and change listeners. */
class FakeState implements AliasSource {
  checksById = new Map<string, AliasCheckView>();
  services = new Set<string>();
  listeners = new Set<() => void>();
  reads = 0;
  failWith: Error | null = null;
  targets: AliasTarget[] = [];

  checks(target: AliasTarget): readonly AliasCheckView[] {
    this.reads++;
    this.targets.push(target);
    if (this.failWith) throw this.failWith;
    return [...this.checksById.values()];
  }
  serviceExists(target: AliasTarget): boolean {
    return this.services.has(target.serviceId);
  }
  subscribe(_target: AliasTarget, onChange: () => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }
  set(id: string, serviceId: string, status: string, output = "", node = "node1"): void {
    this.checksById.set(id, { Node: node, CheckID: id, Name: `check ${id}`, Status: status, Output: output, ServiceID: serviceId });
    for (const l of [...this.listeners]) l();
  }
}

function alias(raw: Record<string, unknown>, state: FakeState) {
  const clock = new FakeClock();
  const rec = recorder({}, clock);
  const runner = createRunner(decodeCheckDefinition(raw), rec.env, { alias: state });
  return { clock, rec, runner };
}

test("an alias follows the aliased service's checks as they change", async () => {
  const state = new FakeState();
  state.services.add("web");
  state.set("web-http", "web", "passing");
  state.set("other", "db", "critical");
  const { rec, runner } = alias({ AliasService: "web" }, state);
  runner.start();
  await settle();
  expect(rec.last()).toEqual({ status: "passing", output: "All checks passing." });
  state.set("web-http", "web", "warning", "slow");
  await settle();
  expect(rec.last()).toEqual({ status: "warning", output: 'Aliased check "check web-http" failing: slow' });
  state.set("web-tcp", "web", "critical", "refused");
  await settle();
  expect(rec.last()).toEqual({ status: "critical", output: 'Aliased check "check web-tcp" failing: refused' });
  state.set("web-tcp", "web", "passing");
  state.set("web-http", "web", "passing");
  await settle();
  expect(rec.last()?.status).toBe("passing");
  expect(runner.criticalSince).toBeNull();
  runner.stop();
  expect(state.listeners.size).toBe(0);
});

test("node-level checks count for a service alias; a node alias ignores service checks", async () => {
  const state = new FakeState();
  state.services.add("web");
  state.set("web-http", "web", "passing");
  state.set("serfHealth", "", "critical", "agent unreachable");
  const svc = alias({ AliasService: "web" }, state);
  svc.runner.start();
  await settle();
  expect(svc.rec.last()?.status).toBe("critical");
  svc.runner.stop();

  const other = new FakeState();
  other.set("mem", "", "passing", "", "node2");
  other.set("web-http", "web", "critical", "", "node2");
  other.set("elsewhere", "", "critical", "", "node3");
  const node = alias({ AliasNode: "NODE2" }, other);
  node.runner.start();
  await settle();
  expect(node.rec.last()).toEqual({ status: "passing", output: "All checks passing." });
  expect(other.targets[0]).toEqual({ node: "NODE2", serviceId: "" });
  node.runner.stop();
});

test("an aliased service that does not exist is critical; one with no checks passes", async () => {
  const state = new FakeState();
  const missing = alias({ AliasService: "ghost" }, state);
  missing.runner.start();
  await settle();
  expect(missing.rec.last()).toEqual({ status: "critical", output: "Service ghost could not be found on node " });
  missing.runner.stop();
  state.services.add("quiet");
  const quiet = alias({ AliasService: "quiet" }, state);
  quiet.runner.start();
  await settle();
  expect(quiet.rec.last()).toEqual({ status: "passing", output: "No checks found." });
  quiet.runner.stop();
});

test("without change notices the alias still re-reads every minute", async () => {
  const state = new FakeState();
  state.services.add("web");
  const { clock, runner } = alias({ AliasService: "web" }, state);
  runner.start();
  await settle();
  expect(state.reads).toBe(1);
  await clock.advance(ALIAS_REFRESH_MS);
  expect(state.reads).toBe(2);
  runner.stop();
  await clock.advance(ALIAS_REFRESH_MS * 3);
  expect(state.reads).toBe(2);
  expect(clock.pendingTimers).toBe(0);
});

test("failing reads turn the alias critical from the second attempt and back off", async () => {
  const state = new FakeState();
  state.services.add("web");
  state.failWith = new Error("no leader");
  const { clock, rec, runner } = alias({ AliasService: "web", AliasNode: "node2", Status: "passing" }, state);
  runner.start();
  await settle();
  // Attempts 1-3 retry at once; the first failure is not reported.
  expect(state.reads).toBeGreaterThanOrEqual(1);
  await clock.advance(0);
  expect(rec.last()).toEqual({ status: "critical", output: "Failure checking aliased node or service: no leader" });
  const before = state.reads;
  expect(before).toBe(4);
  await clock.advance(1_999);
  expect(state.reads).toBe(before);
  await clock.advance(1);
  expect(state.reads).toBe(before + 1);
  state.failWith = null;
  await clock.advance(4_000);
  expect(rec.last()?.status).toBe("passing");
  runner.stop();
});
