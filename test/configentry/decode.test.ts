import { describe, expect, test } from "bun:test";
import { decodeWithSchema } from "../../src/configentry/decode.ts";
import { encodeWithSchema } from "../../src/configentry/encode.ts";
import { decodeConfigEntry, renderConfigEntry } from "../../src/configentry/registry.ts";
import { bool, durationText, int, list, ptr, snake, str, struct, uint } from "../../src/configentry/schema.ts";

const schema = struct(
  ["Name", str],
  ["Port", int, "o"],
  ["Enabled", bool, "o"],
  ["Tags", list(str), "o"],
  ["Limit", ptr(uint), "o"],
  ["ConnectTimeout", durationText, "o"],
  ["Inner", struct(["MaxRetries", int]), "o"],
);

describe("decoding as mapstructure does", () => {
  test("weak typing: numbers from strings, strings from numbers and bools, bools from strings", () => {
    const { value, errors } = decodeWithSchema({ Name: 12, Port: "0x1F", Enabled: "true", Limit: "7" }, schema);
    expect(errors).toEqual([]);
    expect(value).toEqual({ Name: "12", Port: 31, Enabled: true, Limit: 7 });
    expect(decodeWithSchema({ Name: true }, schema).value).toEqual({ Name: "1" });
  });

  test("aliases and case: snake_case and any casing reach the field", () => {
    expect(snake("MaxInboundConnections")).toBe("max_inbound_connections");
    expect(snake("SNI")).toBe("sni");
    expect(snake("JSONFormat")).toBe("json_format");
    const { value, unused } = decodeWithSchema({ name: "a", connect_timeout: "1.5s", INNER: { max_retries: 3 } }, schema);
    expect(unused).toEqual([]);
    expect(value).toEqual({ Name: "a", ConnectTimeout: 1_500_000_000, Inner: { MaxRetries: 3 } });
  });

  test("a one-element list stands for an object (HCL's blocks); a single value for a list", () => {
    expect(decodeWithSchema({ Inner: [{ MaxRetries: 2 }], Tags: "solo" }, schema).value).toEqual({ Inner: { MaxRetries: 2 }, Tags: ["solo"] });
  });

  test("errors carry the field path and Go's wording", () => {
    expect(decodeWithSchema({ Limit: -1 }, schema).errors).toEqual(["cannot parse 'Limit', -1 overflows uint"]);
    expect(decodeWithSchema({ Enabled: "maybe" }, schema).errors).toEqual([`cannot parse 'Enabled' as bool: strconv.ParseBool: parsing "maybe": invalid syntax`]);
    expect(decodeWithSchema({ ConnectTimeout: "soon" }, schema).errors).toEqual([`error decoding 'ConnectTimeout': time: invalid duration "soon"`]);
    expect(decodeWithSchema({ Inner: "x" }, schema).errors).toEqual(["'Inner' expected a map, got 'string'"]);
    expect(decodeWithSchema({ Inner: { Nope: 1 }, Other: 2 }, schema).unused).toEqual(["Inner.Nope", "Other"]);
  });
});

describe("encoding as encoding/json does", () => {
  test("zero values for plain fields, omitempty honoured, structs never omitted, duration text", () => {
    expect(encodeWithSchema({ Name: "n" }, schema)).toEqual({ Name: "n", Inner: { MaxRetries: 0 } });
    expect(encodeWithSchema({ Name: "n", Port: 1, Tags: [], Limit: 0, ConnectTimeout: 90_000_000_000 }, schema)).toEqual({
      Name: "n",
      Port: 1,
      Limit: 0,
      ConnectTimeout: "1m30s",
      Inner: { MaxRetries: 0 },
    });
  });

  test("a decoded entry renders with Kind, the kind's fields and the indexes last", () => {
    const e = decodeConfigEntry({ Kind: "service-resolver", Name: "db", ConnectTimeout: "15s", Subsets: { v1: { Filter: "Service.Meta.version == v1" } } });
    const out = renderConfigEntry({ Kind: e.Kind, Name: e.Name, Entry: e, CreateIndex: 3, ModifyIndex: 4 });
    expect(out).toEqual({
      Kind: "service-resolver",
      Name: "db",
      Subsets: { v1: { Filter: "Service.Meta.version == v1" } },
      ConnectTimeout: "15s",
      CreateIndex: 3,
      ModifyIndex: 4,
    });
    expect(Object.keys(out).slice(-2)).toEqual(["CreateIndex", "ModifyIndex"]);
  });
});
