/**
 * HCL to a plain JSON value, through HashiCorp's own HCL parser compiled to
 * WebAssembly (`@cdktf/hcl2json`). It is HCL 2 syntax (what `hclsyntax`
 * parses); blocks come back as `{type: {label: [body, ...]}}`, attributes as
 * values. The first call loads the module (~0.3-0.5 s); later calls take a
 * millisecond or two. Works the same on Bun, Deno and Node.
 */
import { parse } from "@cdktf/hcl2json";
import { hcl1NestedBlocks } from "./hcl1.ts";

/** Text that is not valid HCL; the message carries the file, line and column. */
export class HclSyntaxError extends Error {
  override readonly name = "HclSyntaxError";
}

/** Largest input accepted: policies and agent configs are small, the parser is not streaming. */
export const HCL_MAX_BYTES = 1024 * 1024;

/**
 * Parses HCL text into JSON.
 *
 * @example
 * const doc = await parseHcl('key_prefix "app/" { policy = "write" }', "rules.hcl");
 * // { key_prefix: { "app/": [{ policy: "write" }] } }
 */
export async function parseHcl(text: string, fileName: string): Promise<Record<string, unknown>> {
  if (text.length > HCL_MAX_BYTES) throw new HclSyntaxError(`${fileName}: too large to parse (${text.length} bytes, max ${HCL_MAX_BYTES})`);
  try {
    return await parseHcl2(text, fileName);
  } catch (err) {
    // HCL 1's nested blocks inside values (Consul's docs write them): retry with them rewritten.
    const rewritten = hcl1NestedBlocks(text);
    if (rewritten === text) throw err;
    try {
      return await parseHcl2(rewritten, fileName);
    } catch {
      throw err; // the first error points at the text as the user wrote it
    }
  }
}

async function parseHcl2(text: string, fileName: string): Promise<Record<string, unknown>> {
  try {
    const out: unknown = await parse(fileName, text);
    if (typeof out !== "object" || out === null || Array.isArray(out)) throw new HclSyntaxError(`${fileName}: not an HCL body`);
    return out as Record<string, unknown>;
  } catch (err) {
    if (err instanceof HclSyntaxError) throw err;
    const message = (err as Error).message.replace(/^parse config: \[(.*)\]$/s, "$1");
    throw new HclSyntaxError(message, { cause: err });
  }
}
