/** UserEvents: IDToIndex exactness, ring buffer, filters against the agent's own services. */
import { expect, test } from "bun:test";
import { eventIdToIndex, USER_EVENT_BUFFER, UserEventError, UserEvents } from "../../src/agent/user_event.ts";
import type { ServiceDef } from "../../src/agent/local_state.ts";

test("IDToIndex XORs the UUID halves exactly, past 2^53", () => {
  // 0x0123456789abcdef ^ 0xfedcba9876543210 = 0xffffffffffffffff
  expect(eventIdToIndex("01234567-89ab-cdef-fedc-ba9876543210")).toBe(0xffffffffffffffffn);
  expect(eventIdToIndex("00000000-0000-0001-0000-000000000003")).toBe(2n);
  expect(() => eventIdToIndex("not-a-uuid")).toThrow(UserEventError);
});

test("ids come from the injected source; LTime counts from 1; the buffer keeps the newest", () => {
  let n = 0;
  const events = new UserEvents({
    nodeName: "n1",
    services: () => [],
    newId: () => `00000000-0000-0000-0000-${String(++n).padStart(12, "0")}`,
  });
  for (let i = 0; i < USER_EVENT_BUFFER + 3; i++) events.fire({ name: `e${i}`, payload: null, nodeFilter: "", serviceFilter: "", tagFilter: "" });
  const list = events.list();
  expect(list).toHaveLength(USER_EVENT_BUFFER);
  expect(list[0]).toMatchObject({ Name: "e3", LTime: 4, ID: "00000000-0000-0000-0000-000000000004" });
});

test("the service filter matches local service IDs, the tag filter their tags (Go regexp syntax)", () => {
  const svc = (ID: string, Tags: string[]) => ({ ID, Service: ID.replace(/\d+$/, ""), Tags }) as unknown as ServiceDef;
  const events = new UserEvents({ nodeName: "web-01", services: () => [svc("api1", ["v2"])] });
  const f = (nodeFilter: string, serviceFilter: string, tagFilter: string) =>
    events.receive({ ID: crypto.randomUUID(), Name: "x", Payload: null, NodeFilter: nodeFilter, ServiceFilter: serviceFilter, TagFilter: tagFilter, Version: 1, LTime: 1 });
  expect(f("^web-\\d+$", "", "")).toBe(true);
  expect(f("^db", "", "")).toBe(false);
  expect(f("", "^api", "")).toBe(true);
  expect(f("", "^api", "^v1$")).toBe(false);
  expect(f("", "^api", "v[0-9]")).toBe(true);
  expect(() => events.fire({ name: "x", payload: null, nodeFilter: "(?=x)", serviceFilter: "", tagFilter: "" })).toThrow(/^Invalid node filter: error parsing regexp/);
});
