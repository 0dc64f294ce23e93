/**
 * The listings written from rows (row_json.ts) are byte for byte what
 * `jsonText` of the answer objects render.ts builds gives, indented and
 * compact, over many row shapes: rows as the state store keeps them (after
 * registrations of random shape) and rows made by hand with what a store
 * never holds (undefined members, odd numbers, bigints, toJSON, boxed values).
 */
import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { jsonText } from "../../src/http/context.ts";
import { joinChunks } from "../../src/http/json_bytes.ts";
import { checkServiceNodeWire, serviceNodeWire } from "../../src/http/render.ts";
import { checkServiceNodesBytes, type JsonChunks, serviceNodesBytes } from "../../src/http/row_json.ts";
import { asIs, type AddressView } from "../../src/http/translate_addrs.ts";
import { catalogRead, MessageType, StateStore } from "../../src/state/mod.ts";
import type { HealthCheck, Node, NodeService } from "../../src/structs/catalog.ts";
import { Accept, translateNodeAddr, translateServiceAddr, translateServicePortFor } from "../../src/structs/translate_addr.ts";
import { seeded } from "../dns/_fixture.ts";

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const maybe = <T, U>(r: Rand, p: number, yes: () => T, no: U): T | U => (r() < p ? yes() : no);

/** Strings that take every path of the writer: plain ASCII, each escape, control characters, non-ASCII, lone and paired surrogates. */
const TEXTS = ["", "web", "a b", 'say "hi"', "back\\slash", "tab\there", "line\nbreak", "\r\b\f", "\u0000\u0001\u001f", "unit\u001fsep", "del\u007f", "~", "é", "ünïcödé", "日本", "🙂", "\ud800", "x\udc00y", "\u2028\u2029", "</script>", "10.0.0.1", "::1"];
const text = (r: Rand): string => (r() < 0.6 ? pick(r, TEXTS) : pick(r, TEXTS) + pick(r, TEXTS) + String(Math.floor(r() * 1000)));
const map = (r: Rand, n: number): Record<string, string> => Object.fromEntries(Array.from({ length: Math.floor(r() * n) }, () => [text(r), text(r)]));
const tags = (r: Rand): string[] => Array.from({ length: pick(r, [0, 0, 1, 2, 5]) }, () => text(r));
const index = (r: Rand): number => pick(r, [0, 1, 9, 10, 99, 1234, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1]);

/** A nested configuration value (proxy config, check definitions): objects, arrays, numbers of every kind, null. */
function nested(r: Rand, depth = 0): unknown {
  const roll = r();
  if (depth > 3 || roll < 0.4) return pick(r, [0, -1, 1.5, -0, 1e21, 1e-7, 2 ** 53, true, false, null, "", text(r)]);
  if (roll < 0.7) return Array.from({ length: Math.floor(r() * 4) }, () => nested(r, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, () => [pick(r, ["Config", "a", "1", "0", "Upstreams", text(r)]), nested(r, depth + 1)]));
}

function registration(r: Rand, i: number) {
  const node = `node-${i % 7}-${text(r)}`.replace(/[^\x20-\x7e]/g, "");
  const kind = pick(r, ["", "", "connect-proxy", "mesh-gateway", "terminating-gateway"]);
  const id = `svc-${i}`;
  return {
    Type: MessageType.Register,
    Now: 0,
    Req: {
      ID: maybe(r, 0.5, () => `5bd7bb38-9e23-4f5a-8c2b-${String(100000000000 + i)}`, ""),
      Node: node,
      Address: pick(r, ["10.0.0.1", "::1", "host.example", text(r)]),
      Datacenter: "dc1",
      TaggedAddresses: maybe(r, 0.3, () => ({ lan: "10.0.0.1", wan: pick(r, ["198.18.0.1", text(r)]) }), {}),
      NodeMeta: maybe(r, 0.4, () => map(r, 4), {}),
      SkipNodeUpdate: false,
      Service: {
        Kind: kind,
        ID: id,
        Service: pick(r, ["web", "db", "api"]),
        Tags: tags(r),
        Address: maybe(r, 0.4, () => text(r), ""),
        TaggedAddresses: maybe(r, 0.3, () => ({ lan_ipv4: { Address: "10.0.0.2", Port: 8080 }, wan: { Address: text(r), Port: index(r) } }), {}),
        Meta: maybe(r, 0.4, () => map(r, 4), {}),
        Port: pick(r, [0, 80, 8080, 65535]),
        SocketPath: maybe(r, 0.1, () => "/run/" + text(r), ""),
        Weights: maybe(r, 0.3, () => ({ Passing: pick(r, [0, 3, 10]), Warning: pick(r, [0, 1, 7]) }), { Passing: 1, Warning: 1 }),
        EnableTagOverride: r() < 0.3,
        Proxy:
          kind === "connect-proxy"
            ? { DestinationServiceName: "web", LocalServicePort: 8080, Mode: pick(r, ["", "transparent"]), Upstreams: [{ DestinationName: "db", LocalBindPort: 9191 }], Config: nested(r), ...(r() < 0.5 ? { MeshGateway: { Mode: "local" } } : {}) }
            : maybe(r, 0.1, () => ({ Config: nested(r) }), {}),
        Connect: maybe(r, 0.15, () => ({ Native: true }), {}),
        Locality: maybe(r, 0.2, () => ({ Region: text(r), Zone: "z1" }), null),
      },
      Checks: Array.from({ length: pick(r, [0, 1, 1, 2, 3]) }, (_, k) => ({
        Node: node,
        CheckID: `check-${i}-${k}`,
        Name: text(r),
        Status: pick(r, ["passing", "warning", "critical"]),
        Notes: text(r),
        Output: pick(r, ["", "HTTP GET http://x: 200 OK Output: ok\n", "\u0000\u0007\u001b[31mred\u001b[0m\r\n", text(r).repeat(pick(r, [1, 50]))]),
        ServiceID: k === 0 ? "" : id,
        ServiceName: "",
        ServiceTags: [],
        Type: pick(r, ["", "http", "ttl"]),
        Interval: pick(r, ["", "10s"]),
        Timeout: pick(r, ["", "1s"]),
        ExposedPort: pick(r, [0, 21500]),
        Definition: maybe(r, 0.2, () => ({ HTTP: "http://x", Header: { A: ["b", text(r)] } }), {}),
      })),
    },
  } as const;
}

const wanView: AddressView = {
  node: (n) => ({ ...n, Address: translateNodeAddr(true, n, Accept.Any) }),
  service: (s) => ({ ...s, Address: translateServiceAddr(true, s.Address, s.TaggedAddresses, Accept.Any), Port: translateServicePortFor(true, s.Port, s.TaggedAddresses) }),
};

const bytesOf = (c: JsonChunks): Buffer => {
  expect(c.chunks.reduce((n, x) => n + x.length, 0)).toBe(c.size);
  return Buffer.from(joinChunks(c.chunks, c.size));
};

/** Where two texts first differ, with some context, for a failure that says where. */
function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `at byte ${i}: ${JSON.stringify(a.subarray(Math.max(0, i - 60), i + 40).toString())} vs ${JSON.stringify(b.subarray(Math.max(0, i - 60), i + 40).toString())}`;
}

function expectSame(got: JsonChunks, want: string): void {
  const a = bytesOf(got);
  const b = Buffer.from(want, "utf8");
  if (!a.equals(b)) expect(firstDifference(a, b)).toBe("identical");
}

function storeOf(seed: number, count: number): StateStore {
  const r = seeded(seed);
  const store = new StateStore();
  for (let i = 0; i < count; i++) store.apply(i + 1, registration(r, i) as never);
  return store;
}

describe("listings written from the rows", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    test(`stored rows of random shape (seed ${seed}): catalog and health, indented and compact, as stored and WAN-translated`, () => {
      const store = storeOf(seed, 120);
      for (const name of ["web", "db", "api", "missing"]) {
        const pairs = catalogRead.serviceNodes(store.t, name).value;
        const health = catalogRead.checkServiceNodes(store.t, name).value;
        for (const pretty of [true, false]) {
          for (const view of [asIs, wanView]) {
            expectSame(serviceNodesBytes(pairs, pretty, view), jsonText(pairs.map((p) => serviceNodeWire(view.node(p.node), view.service(p.service))), pretty));
            expectSame(checkServiceNodesBytes(health, pretty, view), jsonText(health.map((h) => checkServiceNodeWire(view.node(h.Node), view.service(h.Service), h.Checks)), pretty));
          }
        }
      }
    }, 60_000);
  }

  test("answers spanning many chunks (long strings, a string that needs escaping across a chunk end)", () => {
    const r = seeded(9);
    const store = new StateStore();
    for (let i = 0; i < 150; i++) {
      const reg = registration(r, i);
      // Flat strings, as JSON.parse makes them (a repeat() rope is slow to read a character at a time).
      const long = JSON.parse(JSON.stringify((i % 3 === 0 ? "é\"\n" : "x").repeat(i * 23))) as string;
      store.apply(i + 1, { ...reg, Req: { ...reg.Req, Service: { ...reg.Req.Service, Service: "web", Meta: { long } } } } as never);
    }
    const pairs = catalogRead.serviceNodes(store.t, "web").value;
    const health = catalogRead.checkServiceNodes(store.t, "web").value;
    for (const pretty of [true, false]) {
      const c = serviceNodesBytes(pairs, pretty, asIs);
      expect(c.chunks.length).toBeGreaterThan(pretty ? 5 : 3);
      expectSame(c, jsonText(pairs.map((p) => serviceNodeWire(p.node, p.service)), pretty));
      expectSame(checkServiceNodesBytes(health, pretty, asIs), jsonText(health.map((h) => checkServiceNodeWire(h.Node, h.Service, h.Checks)), pretty));
    }
  }, 60_000);

  test("rows a store never holds: undefined and function members, NaN and -0, bigints, toJSON, boxed values, sparse arrays", () => {
    const node = { ID: "", Node: "n1", Address: "10.0.0.1", Datacenter: undefined, TaggedAddresses: {}, Meta: { k: "v" }, CreateIndex: -0, ModifyIndex: NaN } as unknown as Node;
    const when = new Date(0);
    const service = {
      Kind: "connect-proxy",
      ID: "s1",
      Service: "web",
      Tags: ["a", undefined, () => 1, Symbol("s")] as unknown as string[],
      Address: "",
      TaggedAddresses: {},
      Meta: { big: 18446744073709551615n, when, boxed: new String("b"), n: new Number(4), t: new Boolean(false), f: () => 1 } as unknown as Record<string, string>,
      Port: Infinity,
      SocketPath: "",
      Weights: { Passing: 1.5, Warning: -3 },
      EnableTagOverride: false,
      Proxy: { Mode: undefined, Config: { nested: [1, [2, [3, {}]], []], gone: undefined, "2": "two", "1": "one" } },
      Connect: { toJSON: (key: string) => ({ key }) },
      Locality: { toJSON: () => undefined },
      CreateIndex: 1.25,
      ModifyIndex: 1e21,
    } as unknown as NodeService;
    const checks = [{ Node: "n1", CheckID: "c", Definition: Object.create(null, { a: { value: 1, enumerable: true }, hidden: { value: 2, enumerable: false } }) }] as unknown as HealthCheck[];
    const sparse = [1, , 3] as unknown as HealthCheck[]; // eslint-disable-line no-sparse-arrays
    for (const pretty of [true, false]) {
      expectSame(serviceNodesBytes([{ node, service }], pretty, asIs), jsonText([serviceNodeWire(node, service)], pretty));
      expectSame(checkServiceNodesBytes([{ Node: node, Service: service, Checks: checks }], pretty, asIs), jsonText([checkServiceNodeWire(node, service, checks)], pretty));
      expectSame(checkServiceNodesBytes([{ Node: node, Service: service, Checks: sparse }], pretty, asIs), jsonText([checkServiceNodeWire(node, service, sparse)], pretty));
      expectSame(checkServiceNodesBytes([{ Node: node, Service: service, Checks: undefined as unknown as HealthCheck[] }], pretty, asIs), jsonText([checkServiceNodeWire(node, service, undefined as unknown as HealthCheck[])], pretty));
      expectSame(serviceNodesBytes([], pretty, asIs), jsonText([], pretty));
    }
  });

  test("a cycle is refused with JSON.stringify's TypeError, not a stack overflow", () => {
    const meta: Record<string, unknown> = {};
    meta.self = meta;
    const node = { ID: "", Node: "n1", Address: "a", Datacenter: "dc1", TaggedAddresses: {}, Meta: meta, CreateIndex: 1, ModifyIndex: 1 } as unknown as Node;
    const service = { Kind: "", ID: "s", Service: "s", Tags: [], Address: "", TaggedAddresses: {}, Meta: {}, Port: 1, SocketPath: "", Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {}, Locality: null, CreateIndex: 1, ModifyIndex: 1 } as NodeService;
    // Compact: Bun's own indented JSON.stringify takes half a minute to find a cycle.
    expect(() => serviceNodesBytes([{ node, service }], false, asIs)).toThrow(TypeError);
  });

  test("nesting as deep as a body may be is written, not handed over", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = i % 2 ? [deep] : { a: deep };
    const node = { ID: "", Node: "n1", Address: "a", Datacenter: "dc1", TaggedAddresses: {}, Meta: { deep }, CreateIndex: 1, ModifyIndex: 1 } as unknown as Node;
    const service = { Kind: "", ID: "s", Service: "s", Tags: [], Address: "", TaggedAddresses: {}, Meta: {}, Port: 1, SocketPath: "", Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {}, Locality: null, CreateIndex: 1, ModifyIndex: 1 } as NodeService;
    for (const pretty of [true, false]) expectSame(serviceNodesBytes([{ node, service }], pretty, asIs), jsonText([serviceNodeWire(node, service)], pretty));
  });
});
