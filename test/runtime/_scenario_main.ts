/** The child side of a scenario script: with `--run` on the command line, prints the facts `checks` gathers as one JSON line and exits. */
export function runWhenAsked(checks: () => Promise<unknown>): void {
  if (!process.argv.includes("--run")) return;
  checks().then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
