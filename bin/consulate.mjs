#!/usr/bin/env node
// Bun and Deno run the TypeScript sources directly; Node 20 runs the bundle that
// `npm install` builds (the `prepare` script), building it on first use if missing.
const g = globalThis;
if (g.Bun || g.Deno) {
  await import("../src/cli/main.ts");
} else {
  const { existsSync } = await import("node:fs");
  const { fileURLToPath } = await import("node:url");
  const bundle = fileURLToPath(new URL("../dist/consulate.mjs", import.meta.url));
  if (!existsSync(bundle)) {
    const { execFileSync } = await import("node:child_process");
    execFileSync("npm", ["run", "--silent", "build"], { cwd: fileURLToPath(new URL("..", import.meta.url)), stdio: "inherit" });
  }
  await import(bundle);
}
