/**
 * Registration requests for comparing the direct lane with the app
 * (direct_register.test.ts in-process, direct_register_wire.test.ts on a
 * socket): good bodies and every way a body can be wrong, adversarial ones
 * included (deep, huge, malformed, not UTF-8, prototype keys).
 */
export interface RegisterCase {
  readonly name: string;
  /** Query and all, when not the bare path. */
  readonly target?: string;
  readonly body: string | Uint8Array;
  readonly headers?: Record<string, string>;
  /** The status the app answers (the lanes must agree on more than this). */
  readonly status: number;
}

const PATH = "/v1/catalog/register";
const j = (v: unknown): string => JSON.stringify(v);
const node = (n: string) => ({ Node: n, Address: "10.0.0.1" });
const instance = (n: string, k: number) => ({
  ...node(n),
  Service: { ID: `svc${k}-${n}`, Service: `svc${k}`, Port: 20000 + k, Tags: ["v1", "rack-1"] },
  Check: { CheckID: `service:svc${k}-${n}`, Name: `svc${k} alive`, Status: "passing", ServiceID: `svc${k}-${n}` },
});

export function registerCases(): RegisterCase[] {
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  return [
    { name: "a node", body: j(node("c-1")), status: 200 },
    { name: "an instance with its check", body: j(instance("c-2", 3)), status: 200 },
    { name: "the same again", body: j(instance("c-2", 3)), status: 200 },
    { name: "a list of checks", body: j({ ...node("c-3"), Checks: [{ Name: "a" }, { CheckID: "b", Status: "critical", Notes: "n" }] }), status: 200 },
    { name: "lower-case and snake_case keys", body: j({ node: "c-4", address: "10.0.0.4", skip_node_update: false, node_meta: { a: "b" } }), status: 200 },
    { name: "padded with whitespace", body: `\n\t ${j(node("c-5"))} \r\n`, status: 200 },
    { name: "unicode names", body: j({ Node: "nödé-ü", Address: "10.0.0.6", Service: { Service: "wéb", Port: 1 } }), status: 200 },
    { name: "escapes and a NUL", body: '{"Node":"c-7\\u0000x","Address":"\\u0031\\u0030.0.0.7"}', status: 200 },
    { name: "a lone surrogate", body: '{"Node":"c-8\\ud800","Address":"10.0.0.8"}', status: 200 },
    { name: "a duplicate key", body: '{"Node":"ignored","Node":"c-9","Address":"10.0.0.9"}', status: 200 },
    { name: "a prototype key", body: '{"__proto__":{"Node":"p"},"Node":"c-10","Address":"10.0.0.10","constructor":{"prototype":{"x":1}}}', status: 200 },
    { name: "the datacenter in the body", body: j({ ...node("c-11"), Datacenter: "dc1" }), status: 200 },
    { name: "?dc of this datacenter", target: `${PATH}?dc=dc1`, body: j(node("c-12")), status: 200 },
    { name: "?pretty", target: `${PATH}?pretty`, body: j(node("c-13")), status: 200 },
    { name: "an empty query", target: `${PATH}?`, body: j(node("c-14")), status: 200 },
    { name: "?stale on a write", target: `${PATH}?stale&index=0`, body: j(node("c-15")), status: 200 },
    { name: "percent-escapes in the query", target: `${PATH}?dc=%64%63%31&x=%zz`, body: j(node("c-16")), status: 200 },
    { name: "padded with 300 KB of whitespace", body: `${j(node("c-17"))}${" ".repeat(300_000)}`, status: 200 },
    { name: "a large node meta", body: j({ ...node("c-18"), NodeMeta: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, "v".repeat(500)])) }), status: 200 },
    { name: "an empty body", body: "", status: 400 },
    { name: "only whitespace", body: " \n\t ", status: 400 },
    { name: "null", body: "null", status: 400 },
    { name: "a list", body: "[1]", status: 400 },
    { name: "a number", body: "12", status: 400 },
    { name: "a string", body: '"x"', status: 400 },
    { name: "cut short", body: '{"Node":', status: 400 },
    { name: "trailing garbage", body: `${j(node("c-x"))}x`, status: 400 },
    { name: "two documents", body: `${j(node("c-x"))}${j(node("c-y"))}`, status: 400 },
    { name: "a byte order mark (the UTF-8 decoder drops it)", body: `\uFEFF${j(node("c-19"))}`, status: 200 },
    { name: "single quotes", body: "{'Node':'c-x'}", status: 400 },
    { name: "not UTF-8", body: new Uint8Array([0x7b, 0x22, 0x4e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), status: 400 },
    { name: "an overlong UTF-8 form", body: new Uint8Array([0x7b, 0x22, 0x4e, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]), status: 400 },
    { name: "10,000 nested lists", body: deep(10_000), status: 400 },
    { name: "deep inside the node meta", body: `{"Node":"c-x","Address":"a","NodeMeta":{"a":${deep(200)}}}`, status: 400 },
    { name: "a node name past its limit", body: j({ Node: "n".repeat(100_000), Address: "10.0.0.1" }), status: 400 },
    { name: "a 600 KB string", body: j({ ...node("c-x"), NodeMeta: { a: "v".repeat(600_000) } }), status: 400 },
    { name: "too many tags", body: j({ ...node("c-x"), Service: { Service: "s", Tags: Array.from({ length: 300 }, (_, i) => `t${i}`) } }), status: 400 },
    { name: "a port past 64 bits (refused, as Go refuses it into an int)", body: '{"Node":"c-20","Address":"a","Service":{"Service":"s","Port":184467440737095516160}}', status: 400 },
    { name: "a node that is a number", body: '{"Node":5,"Address":"a"}', status: 400 },
    { name: "a service that is a string", body: '{"Node":"c-x","Address":"a","Service":"web"}', status: 400 },
    { name: "checks that are not a list", body: '{"Node":"c-x","Address":"a","Checks":{"Name":"x"}}', status: 400 },
    { name: "a check that is not an object", body: '{"Node":"c-x","Address":"a","Checks":[1]}', status: 400 },
    { name: "a check status Consul does not know", body: j({ ...node("c-x"), Check: { Name: "c", Status: "fine" } }), status: 400 },
    { name: "a check with neither ID nor name", body: j({ ...node("c-x"), Check: { Status: "passing" } }), status: 400 },
    { name: "no node", body: j({ Address: "10.0.0.1" }), status: 500 },
    { name: "no address", body: j({ Node: "c-x" }), status: 500 },
    { name: "a service ID without a name", body: j({ ...node("c-x"), Service: { ID: "x" } }), status: 500 },
    { name: "another datacenter", target: `${PATH}?dc=dc9`, body: j(node("c-x")), status: 500 },
  ];
}
