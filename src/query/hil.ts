/**
 * The part of HashiCorp's HIL interpolation language prepared-query
 * templates use: text with `${...}` interpolations (`$${` is a literal
 * `${`), holding dotted variables (`name.full`), calls (`match(1)`),
 * integer and string literals and integer arithmetic (`40 + 2`).
 */

export class HilSyntaxError extends Error {
  override readonly name = "HilSyntaxError";
}

export class HilEvalError extends Error {
  override readonly name = "HilEvalError";
}

type Expr =
  | { readonly k: "lit"; readonly v: string | number }
  | { readonly k: "var"; readonly name: string }
  | { readonly k: "call"; readonly fn: string; readonly args: readonly Expr[] }
  | { readonly k: "neg"; readonly e: Expr }
  | { readonly k: "bin"; readonly op: string; readonly l: Expr; readonly r: Expr };

/** A parsed template: literal text and interpolations, in order. */
export type HilTemplate = readonly (string | Expr)[];

export interface HilScope {
  readonly vars: Readonly<Record<string, string>>;
  readonly fns: Readonly<Record<string, (args: readonly (string | number)[]) => string | number>>;
}

class Parser {
  private at = 0;
  private readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  private ws(): void {
    while (this.at < this.src.length && /\s/.test(this.src[this.at]!)) this.at++;
  }

  private peek(): string {
    this.ws();
    return this.src[this.at] ?? "";
  }

  private expect(c: string): void {
    if (this.peek() !== c) throw new HilSyntaxError(`expected ${JSON.stringify(c)} at offset ${this.at}, found ${JSON.stringify(this.src[this.at] ?? "end of input")}`);
    this.at++;
  }

  /** One interpolation body, up to and including its closing brace. */
  interpolation(): Expr {
    const e = this.sum();
    this.expect("}");
    return e;
  }

  get offset(): number {
    return this.at;
  }

  private sum(): Expr {
    let l = this.product();
    for (let c = this.peek(); c === "+" || c === "-"; c = this.peek()) {
      this.at++;
      l = { k: "bin", op: c, l, r: this.product() };
    }
    return l;
  }

  private product(): Expr {
    let l = this.unary();
    for (let c = this.peek(); c === "*" || c === "/" || c === "%"; c = this.peek()) {
      this.at++;
      l = { k: "bin", op: c, l, r: this.unary() };
    }
    return l;
  }

  private unary(): Expr {
    if (this.peek() === "-") {
      this.at++;
      return { k: "neg", e: this.unary() };
    }
    return this.primary();
  }

  private primary(): Expr {
    const c = this.peek();
    if (c === "(") {
      this.at++;
      const e = this.sum();
      this.expect(")");
      return e;
    }
    if (c === '"') return this.string();
    const num = /^\d+/.exec(this.src.slice(this.at));
    if (num) {
      this.at += num[0].length;
      return { k: "lit", v: Number(num[0]) };
    }
    const id = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*/.exec(this.src.slice(this.at));
    if (!id) throw new HilSyntaxError(`unexpected ${JSON.stringify(c === "" ? "end of input" : c)} at offset ${this.at}`);
    this.at += id[0].length;
    if (this.peek() !== "(") return { k: "var", name: id[0] };
    this.at++;
    const args: Expr[] = [];
    if (this.peek() !== ")") {
      args.push(this.sum());
      while (this.peek() === ",") {
        this.at++;
        args.push(this.sum());
      }
    }
    this.expect(")");
    return { k: "call", fn: id[0], args };
  }

  private string(): Expr {
    this.at++;
    let out = "";
    while (this.at < this.src.length && this.src[this.at] !== '"') {
      if (this.src[this.at] === "\\" && this.at + 1 < this.src.length) this.at++;
      out += this.src[this.at++];
    }
    if (this.src[this.at] !== '"') throw new HilSyntaxError("unterminated string");
    this.at++;
    return { k: "lit", v: out };
  }
}

/** Parses a template string; throws HilSyntaxError. */
export function parseHil(text: string): HilTemplate {
  const parts: (string | Expr)[] = [];
  let lit = "";
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      lit += "${";
      i += 3;
    } else if (text.startsWith("${", i)) {
      if (lit !== "") parts.push(lit);
      lit = "";
      const p = new Parser(text.slice(i + 2));
      parts.push(p.interpolation());
      i += 2 + p.offset;
    } else {
      lit += text[i++];
    }
  }
  if (lit !== "" || parts.length === 0) parts.push(lit);
  return parts;
}

function evalExpr(e: Expr, scope: HilScope): string | number {
  switch (e.k) {
    case "lit":
      return e.v;
    case "var": {
      const v = scope.vars[e.name];
      if (v === undefined) throw new HilEvalError(`unknown variable accessed: ${e.name}`);
      return v;
    }
    case "call": {
      const fn = scope.fns[e.fn];
      if (!fn) throw new HilEvalError(`unknown function called: ${e.fn}`);
      return fn(e.args.map((a) => evalExpr(a, scope)));
    }
    case "neg": {
      const v = evalExpr(e.e, scope);
      if (typeof v !== "number") throw new HilEvalError(`cannot negate a string`);
      return -v;
    }
    case "bin": {
      const l = evalExpr(e.l, scope);
      const r = evalExpr(e.r, scope);
      if (typeof l !== "number" || typeof r !== "number") throw new HilEvalError(`arithmetic needs integers, got ${JSON.stringify(l)} ${e.op} ${JSON.stringify(r)}`);
      if ((e.op === "/" || e.op === "%") && r === 0) throw new HilEvalError("divide by zero");
      if (e.op === "+") return l + r;
      if (e.op === "-") return l - r;
      if (e.op === "*") return l * r;
      if (e.op === "/") return Math.trunc(l / r);
      return l % r;
    }
  }
}

/** Evaluates a parsed template to its string; throws HilEvalError. */
export function evalHil(t: HilTemplate, scope: HilScope): string {
  if (t.length === 1 && typeof t[0] === "string") return t[0];
  let out = "";
  for (const part of t) out += typeof part === "string" ? part : String(evalExpr(part, scope));
  return out;
}
