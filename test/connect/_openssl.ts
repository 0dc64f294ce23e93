/** Runs the real `openssl` on PEM files in a temporary folder. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface OpensslResult {
  readonly code: number;
  readonly out: string;
}

/**
 * `files` are written under their names; `{name}` in args is replaced by the
 * file's path. Checks happen at `atSeconds` when given (certificates made on
 * a fake clock).
 */
export function openssl(args: string[], files: Record<string, string>): OpensslResult {
  const dir = mkdtempSync(join(tmpdir(), "ca-openssl-"));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const resolved = args.map((a) => a.replace(/\{([^}]+)\}/g, (_m, n: string) => join(dir, n)));
    const r = spawnSync("openssl", resolved, { encoding: "utf8" });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl verify -CAfile roots [-untrusted chain] leaf`, true when it prints OK. */
export function verifies(leaf: string, roots: string, opts: { untrusted?: string; atSeconds?: number } = {}): OpensslResult & { ok: boolean } {
  const args = ["verify", "-CAfile", "{roots.pem}"];
  const files: Record<string, string> = { "roots.pem": roots, "leaf.pem": leaf };
  if (opts.untrusted) {
    args.push("-untrusted", "{chain.pem}");
    files["chain.pem"] = opts.untrusted;
  }
  if (opts.atSeconds !== undefined) args.push("-attime", String(opts.atSeconds));
  args.push("{leaf.pem}");
  const r = openssl(args, files);
  return { ...r, ok: r.code === 0 && r.out.includes(": OK") };
}
