/**
 * `consulate config write [-cas -modify-index N] FILE|-`: a config entry in
 * JSON or HCL, as Consul reads it (HCL 1's nested blocks inside values too;
 * see src/hcl). The agent decodes and validates it.
 */
import type { ConfigEntry } from "../../api/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { DataSourceError, describeFsError } from "../data_source.ts";
import { boolFlag, uint64Flag } from "../flags.ts";
import { clientFlags, connectAgent, serverFlags } from "../http_flags.ts";
import type { CliIo } from "../io.ts";
import { parseJson } from "../../api/mod.ts";
import { parseHcl } from "../../hcl/mod.ts";

const help = `
Usage: consulate config write [options] <configuration>

  Request a config entry to be created or updated. The configuration
  argument is either a file path or '-' to indicate that the config
  should be read from stdin. The data should be in either JSON or HCL
  format.

  Example (from file):

    $ consulate config write web.service.json

  Example (from stdin):

    $ consulate config write -
`;

/** Consul's LoadDataSourceNoRaw: a path or "-" for stdin, never literal data. */
async function load(arg: string, io: CliIo): Promise<string> {
  if (arg === "-") return new TextDecoder().decode(await io.readStdin());
  try {
    return new TextDecoder().decode(await io.readFile(arg));
  } catch (err) {
    throw new DataSourceError(`Failed to read file: ${describeFsError(err, arg)}`, { cause: err });
  }
}

function field(o: Record<string, unknown>, name: string): unknown {
  for (const k of Object.keys(o)) if (k.toLowerCase() === name.toLowerCase()) return o[k];
  return undefined;
}

/** The entry's kind and name as Consul's api.ConfigEntry reports them (proxy-defaults is "global", mesh "mesh"). */
export function kindAndName(entry: ConfigEntry): { kind: string; name: string } {
  const kind = String(entry.Kind);
  if (kind === "proxy-defaults") return { kind, name: "global" };
  if (kind === "mesh") return { kind, name: "mesh" };
  const name = field(entry, "Name");
  return { kind, name: typeof name === "string" ? name : "" };
}

/** Parses JSON or HCL input into an entry; the agent does the full decoding and validation. */
export async function parseConfigEntry(text: string, source: string): Promise<ConfigEntry> {
  const trimmed = text.trim();
  const raw: unknown = trimmed.startsWith("{") ? parseJson(trimmed) : await parseHcl(text, source);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("Payload does not contain a kind/Kind key at the top level");
  const o = raw as Record<string, unknown>;
  const kind = "Kind" in o ? o.Kind : o.kind;
  if (kind === undefined) throw new Error("Payload does not contain a kind/Kind key at the top level");
  if (typeof kind !== "string") throw new Error("Kind value in payload is not a string");
  if (!("Kind" in o)) {
    const { kind: _k, ...rest } = o;
    return { Kind: kind, ...rest };
  }
  return o as ConfigEntry;
}

export const configWriteCommand = defineCommand({
  synopsis: "Create or update a centralized config entry",
  help,
  flags: {
    ...clientFlags,
    ...serverFlags,
    cas: boolFlag(false, "Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set. The default value is false."),
    "modify-index": uint64Flag(0n, "Unsigned integer representing the ModifyIndex of the config entry. This is used in combination with the -cas flag."),
  },
  async run({ values, args }, ui) {
    if (args.length !== 1) {
      ui.error("Must provide exactly one positional argument to specify the config entry to write");
      return 1;
    }
    let text: string;
    try {
      text = await load(args[0]!, ui.io);
    } catch (err) {
      ui.error(`Failed to load data: ${errorText(err)}`);
      return 1;
    }
    let entry: ConfigEntry;
    try {
      entry = await parseConfigEntry(text, args[0] === "-" ? "<stdin>" : args[0]!);
    } catch (err) {
      ui.error(`Failed to decode config entry input: ${errorText(err)}`);
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    const { kind, name } = kindAndName(entry);
    let written: boolean;
    try {
      const entries = client.configEntries();
      written = values.cas ? await entries.cas(entry, Number(values["modify-index"])) : await entries.set(entry);
    } catch (err) {
      ui.error(`Error writing config entry ${kind}/${name}: ${errorText(err)}`);
      return 1;
    }
    if (!written) {
      ui.error(`Config entry not updated: ${kind}/${name}`);
      return 1;
    }
    ui.info(`Config entry written: ${kind}/${name}`);
    return 0;
  },
});
