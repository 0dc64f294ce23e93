import { expect, test } from "bun:test";
import { field } from "../../src/structs/json.ts";

test("field: exact name, then any case or snake_case spelling of the name or an alias, the first such key winning", () => {
  expect(field({ Port: 1, port: 2 }, "Port")).toBe(1);
  expect(field({ port: 2 }, "Port")).toBe(2);
  expect(field({ socket_path: "/s" }, "SocketPath", "socket_path")).toBe("/s");
  expect(field({ SOCKET_PATH: "/s" }, "SocketPath")).toBe("/s");
  expect(field({ service_id: "a", ServiceId: "b" }, "ServiceID", "service_id")).toBe("a");
  expect(field({ id: "x" }, "CheckID", "ID", "check_id")).toBe("x");
  expect(field({ Name: "n" }, "Port")).toBeUndefined();
  expect(field({}, "Port")).toBeUndefined();
});

test("field: still right past the bound on remembered names (a body of many distinct keys)", () => {
  const wide: Record<string, unknown> = {};
  for (let i = 0; i < 5000; i++) wide[`Key_${i}`] = i;
  expect(field(wide, "key4999")).toBe(4999);
  expect(field(wide, "KEY_0")).toBe(0);
  expect(field(wide, "Key5000")).toBeUndefined();
  expect(field({ tagged_addresses: 1 }, "TaggedAddresses", "tagged_addresses")).toBe(1);
});
