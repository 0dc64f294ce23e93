/** `consulate version` */
import pkg from "../../package.json" with { type: "json" };
import { encodeJson } from "../api/mod.ts";
import { defineCommand } from "./command.ts";
import { stringFlag } from "./flags.ts";

/** Consul's RPC protocol numbers, which Consulate speaks on the wire. */
export const PROTOCOL = { Default: 2, Min: 2, Max: 3 } as const;

export const VERSION: string = pkg.version;

export function prettyVersion(): string {
  const supplement =
    PROTOCOL.Default < PROTOCOL.Max
      ? ` (agent will automatically use protocol >${PROTOCOL.Default} when speaking to compatible agents)`
      : "";
  return (
    `Consulate v${VERSION}\n` +
    `Protocol ${PROTOCOL.Default} spoken by default, understands ${PROTOCOL.Min} to ${PROTOCOL.Max}${supplement}\n`
  );
}

export const versionCommand = defineCommand({
  synopsis: "Prints the Consulate version",
  help: "\nUsage: consulate version [options]\n",
  flags: { format: stringFlag("pretty", "Output format {pretty|json}") },
  async run({ values }, ui) {
    if (values.format === "pretty") {
      ui.output(prettyVersion());
      return 0;
    }
    if (values.format === "json") {
      const [version = VERSION, prerelease = ""] = VERSION.split(/-(.*)/s);
      ui.output(encodeJson({ Version: version, Revision: "", Prerelease: prerelease, RPC: PROTOCOL }, { indent: "   " }));
      return 0;
    }
    ui.error(`Unknown format: ${values.format}`);
    return 1;
  },
});
