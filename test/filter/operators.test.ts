import { describe, expect, test } from "bun:test";
import { compileFilter, type FieldSchema, FilterError, FilterErrorKind } from "../../src/filter/mod.ts";

const str: FieldSchema = { kind: "string" };
const num: FieldSchema = { kind: "number" };
const bool: FieldSchema = { kind: "bool" };

const schema: FieldSchema = {
  kind: "struct",
  fields: {
    Name: str,
    Port: num,
    Enabled: bool,
    Tags: { kind: "list", elem: str },
    Ports: { kind: "list", elem: num },
    Flags: { kind: "list", elem: bool },
    Meta: { kind: "map", elem: str },
    Nested: { kind: "struct", fields: { Inner: { kind: "struct", fields: { Value: str } } } },
  },
};

const item = {
  Name: "web-frontend",
  Port: 8080,
  Enabled: true,
  Tags: ["primary", "v1"],
  Ports: [80, 443],
  Flags: [false],
  Meta: { env: "prod", "with.dot": "d", "with space": "s", "": "empty-key" },
  Nested: { Inner: { Value: "deep" } },
};

function matches(expression: string, value: unknown = item): boolean {
  return compileFilter(expression, schema)(value);
}

function failure(expression: string): FilterError {
  try {
    compileFilter(expression, schema);
  } catch (e) {
    if (e instanceof FilterError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(expression)} to be rejected`);
}

describe("strings", () => {
  test("== and != compare exactly, with the value bare, quoted or raw", () => {
    expect(matches('Name == "web-frontend"')).toBe(true);
    expect(matches("Name == `web-frontend`")).toBe(true);
    expect(matches('Name == "web"')).toBe(false);
    expect(matches('Name != "web"')).toBe(true);
    expect(matches('Name != "web-frontend"')).toBe(false);
    expect(matches("Name == web", { Name: "web" })).toBe(true);
    expect(matches('Name == "Web"', { Name: "web" })).toBe(false);
  });

  test("in, not in, contains and not contains test for a substring", () => {
    expect(matches('"front" in Name')).toBe(true);
    expect(matches('"back" in Name')).toBe(false);
    expect(matches('"back" not in Name')).toBe(true);
    expect(matches("Name contains front")).toBe(true);
    expect(matches("Name not contains front")).toBe(false);
    expect(matches('"" in Name')).toBe(true);
  });

  test("matches and not matches search with a Go regular expression", () => {
    expect(matches('Name matches "^web-"')).toBe(true);
    expect(matches('Name matches "end$"')).toBe(true);
    expect(matches("Name matches `^[a-z]+-[a-z]+$`")).toBe(true);
    expect(matches('Name matches "^front"')).toBe(false);
    expect(matches('Name not matches "^front"')).toBe(true);
    expect(matches('Name matches "(?i)^WEB"')).toBe(true);
    expect(matches("Name matches `\\d`")).toBe(false);
  });

  test("an invalid regular expression is refused when compiling", () => {
    const e = failure('Name matches "(unclosed"');
    expect(e.kind).toBe(FilterErrorKind.Regex);
    expect(e.message).toBe(
      'Failed to create boolean expression evaluator: Failed to compile regular expression "(unclosed": error parsing regexp: missing closing ): `(unclosed`',
    );
    expect(failure('Name matches "(?=x)"').reason).toBe(
      'Failed to compile regular expression "(?=x)": error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    );
  });

  test("emptiness checks are not offered on strings, as in go-bexpr", () => {
    const e = failure("Name is empty");
    expect(e.kind).toBe(FilterErrorKind.Operator);
    expect(e.reason).toBe('Invalid match operator "Is Empty" for selector "Name"');
    expect(failure("Name is not empty").reason).toBe('Invalid match operator "Is Not Empty" for selector "Name"');
  });
});

describe("numbers", () => {
  test("the literal is read as a Go int (base prefixes and _ allowed)", () => {
    expect(matches("Port == 8080")).toBe(true);
    expect(matches("Port != 8080")).toBe(false);
    expect(matches("Port == 80")).toBe(false);
    expect(matches('Port == "0x1F90"')).toBe(true);
    expect(matches('Port == "0o17620"')).toBe(true);
    expect(matches('Port == "017620"')).toBe(true);
    expect(matches('Port == "8_080"')).toBe(true);
    expect(matches('Port == "+8080"')).toBe(true);
    expect(matches("Port == -1", { Port: -1 })).toBe(true);
  });

  test("a literal that is not an int is refused with strconv's message", () => {
    const e = failure("Port == 80.5");
    expect(e.kind).toBe(FilterErrorKind.Value);
    expect(e.reason).toBe(
      'Failed to coerce value "80.5" for selector "Port": strconv.ParseInt: parsing "80.5": invalid syntax',
    );
    expect(failure("Port == http").reason).toBe(
      'Failed to coerce value "http" for selector "Port": strconv.ParseInt: parsing "http": invalid syntax',
    );
    expect(failure('Port == "9223372036854775808"').reason).toBe(
      'Failed to coerce value "9223372036854775808" for selector "Port": strconv.ParseInt: parsing "9223372036854775808": value out of range',
    );
    expect(failure('Port == "8__0"').kind).toBe(FilterErrorKind.Value);
  });

  test("only == and != apply", () => {
    expect(failure('"8" in Port').reason).toBe('Invalid match operator "In" for selector "Port"');
    expect(failure("Port matches 8").reason).toBe('Invalid match operator "Matches" for selector "Port"');
    expect(failure("Port is empty").reason).toBe('Invalid match operator "Is Empty" for selector "Port"');
  });
});

describe("bools", () => {
  test("the literal is read with Go's ParseBool", () => {
    expect(matches("Enabled == true")).toBe(true);
    expect(matches("Enabled == True")).toBe(true);
    expect(matches("Enabled == T")).toBe(true);
    expect(matches("Enabled == 1")).toBe(true);
    expect(matches("Enabled == false")).toBe(false);
    expect(matches("Enabled != false")).toBe(true);
    expect(matches("Enabled == 0", { Enabled: false })).toBe(true);
    expect(failure("Enabled == yes").reason).toBe(
      'Failed to coerce value "yes" for selector "Enabled": strconv.ParseBool: parsing "yes": invalid syntax',
    );
  });
});

describe("lists of primitives", () => {
  test("in, not in, contains and not contains look for an equal element", () => {
    expect(matches('"primary" in Tags')).toBe(true);
    expect(matches("primary in Tags")).toBe(true);
    expect(matches('"prim" in Tags')).toBe(false);
    expect(matches('"canary" not in Tags')).toBe(true);
    expect(matches("Tags contains v1")).toBe(true);
    expect(matches("Tags not contains v1")).toBe(false);
  });

  test("elements are compared in the list's element type", () => {
    expect(matches("443 in Ports")).toBe(true);
    expect(matches('"0x50" in Ports')).toBe(true);
    expect(matches("8080 in Ports")).toBe(false);
    expect(matches("false in Flags")).toBe(true);
    expect(matches("true in Flags")).toBe(false);
    expect(failure('"https" in Ports').reason).toBe(
      'Failed to coerce value "https" for selector "Ports": strconv.ParseInt: parsing "https": invalid syntax',
    );
  });

  test("is empty and is not empty look at the length", () => {
    expect(matches("Tags is not empty")).toBe(true);
    expect(matches("Tags is empty")).toBe(false);
    expect(matches("Tags is empty", { Tags: [] })).toBe(true);
    expect(matches("Tags is empty", { Tags: null })).toBe(true);
  });

  test("== is not offered on lists", () => {
    expect(failure("Tags == primary").reason).toBe('Invalid match operator "Equal" for selector "Tags"');
    expect(failure("Tags matches x").reason).toBe('Invalid match operator "Matches" for selector "Tags"');
  });
});

describe("maps", () => {
  test("a key is selected with a dot or a quoted index", () => {
    expect(matches("Meta.env == prod")).toBe(true);
    expect(matches('Meta["env"] == prod')).toBe(true);
    expect(matches("Meta[`env`] == prod")).toBe(true);
    expect(matches('Meta[ "env" ] != prod')).toBe(false);
    expect(matches('Meta["with.dot"] == d')).toBe(true);
    expect(matches('Meta["with space"] == s')).toBe(true);
    expect(matches('Meta[""] == "empty-key"')).toBe(true);
    expect(matches('"pro" in Meta.env')).toBe(true);
    expect(matches('Meta.env matches "^p"')).toBe(true);
  });

  test("in, not in and contains test for a key", () => {
    expect(matches('"env" in Meta')).toBe(true);
    expect(matches('"prod" in Meta')).toBe(false);
    expect(matches('"zone" not in Meta')).toBe(true);
    expect(matches("Meta contains env")).toBe(true);
    expect(matches("Meta not contains env")).toBe(false);
  });

  test("is empty and is not empty look at the number of keys", () => {
    expect(matches("Meta is not empty")).toBe(true);
    expect(matches("Meta is empty", { Meta: {} })).toBe(true);
    expect(matches("Meta is empty", { Meta: null })).toBe(true);
    expect(matches("Meta is empty", {})).toBe(true);
  });

  test("a missing key answers by operator alone, as go-bexpr does", () => {
    expect(matches("Meta.zone == a")).toBe(false);
    expect(matches('"a" in Meta.zone')).toBe(false);
    expect(matches("Meta.zone != a")).toBe(true);
    expect(matches('"a" not in Meta.zone')).toBe(true);
    // go-bexpr's quirk: anything but ==, in and is not empty holds for a missing key.
    expect(matches('Meta.zone matches "^a"')).toBe(true);
    expect(matches('Meta.zone not matches "^a"')).toBe(true);
    // A present key with an empty value is not missing.
    expect(matches('Meta.zone matches "^a"', { Meta: { zone: "" } })).toBe(false);
    expect(matches('Meta.zone == ""', { Meta: { zone: "" } })).toBe(true);
  });

  test("keys inherited from Object.prototype are not map keys", () => {
    expect(matches('"constructor" in Meta')).toBe(false);
    expect(matches("Meta.toString == x")).toBe(false);
  });

  test("== is not offered on the map itself", () => {
    expect(failure("Meta == x").reason).toBe('Invalid match operator "Equal" for selector "Meta"');
  });
});

describe("structs", () => {
  test("nested fields are reached with dots", () => {
    expect(matches("Nested.Inner.Value == deep")).toBe(true);
    expect(matches('Nested["Inner"]["Value"] == deep')).toBe(true);
    expect(matches("Nested.Inner.Value == shallow")).toBe(false);
  });

  test("no operator applies to a struct itself", () => {
    expect(failure("Nested == x").reason).toBe('Invalid match operator "Equal" for selector "Nested"');
    expect(failure("Nested is empty").reason).toBe('Invalid match operator "Is Empty" for selector "Nested"');
  });
});

describe("zero values", () => {
  test("absent and null fields read as their Go zero value", () => {
    expect(matches('Name == ""', {})).toBe(true);
    expect(matches("Port == 0", {})).toBe(true);
    expect(matches("Enabled == false", { Enabled: null })).toBe(true);
    expect(matches("Tags is empty", {})).toBe(true);
    expect(matches('"x" in Tags', {})).toBe(false);
    expect(matches('Nested.Inner.Value == ""', { Nested: null })).toBe(true);
    expect(matches('Name == ""', null)).toBe(true);
  });
});

describe("logic", () => {
  test("and, or and not follow the usual precedence", () => {
    const f = compileFilter("not Name == a and Port == 1 or Enabled == true", schema);
    // ((not Name == a) and Port == 1) or Enabled == true
    expect(f({ Name: "b", Port: 1, Enabled: false })).toBe(true);
    expect(f({ Name: "a", Port: 1, Enabled: false })).toBe(false);
    expect(f({ Name: "a", Port: 1, Enabled: true })).toBe(true);
    expect(f({ Name: "b", Port: 2, Enabled: false })).toBe(false);
    const g = compileFilter("not (Name == a and Port == 1) or Enabled == true", schema);
    expect(g({ Name: "a", Port: 2, Enabled: false })).toBe(true);
    expect(g({ Name: "a", Port: 1, Enabled: false })).toBe(false);
    const h = compileFilter("Name == a and (Port == 1 or Port == 2)", schema);
    expect(h({ Name: "a", Port: 2 })).toBe(true);
    expect(h({ Name: "b", Port: 2 })).toBe(false);
  });

  test("an empty expression keeps everything", () => {
    expect(compileFilter("", schema)(item)).toBe(true);
  });

  test("the compiled predicate can be handed to Array.prototype.filter", () => {
    const rows = [{ Port: 1 }, { Port: 2 }, { Port: 1 }];
    expect(rows.filter(compileFilter("Port == 1", schema))).toEqual([{ Port: 1 }, { Port: 1 }]);
  });
});
