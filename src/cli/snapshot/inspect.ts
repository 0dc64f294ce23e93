/** `consulate snapshot inspect`: what an archive (or an unpacked state.bin) holds. No agent needed. */
import { byteSize, checkMeta, type InspectOutput, inspectState, readArchive, type SnapshotMeta } from "../../snapshot/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { describeFsError } from "../data_source.ts";
import { boolFlag, intFlag, stringFlag } from "../flags.ts";
import { tabwrite } from "../format/tabwriter.ts";

const help = `
Usage: consulate snapshot inspect [options] FILE

  Displays information about a snapshot file on disk.

  To inspect the file "backup.snap":

    $ consulate snapshot inspect backup.snap

  For a full list of options and examples, please see the Consul documentation.
`;

const flags = {
  kvdetails: boolFlag(false, "Provides a detailed KV space usage breakdown for any KV data that's been stored."),
  kvdepth: intFlag(2, "Can only be used with -kvdetails. The key prefix depth used to breakdown KV store data. Defaults to 2."),
  kvfilter: stringFlag("", "Can only be used with -kvdetails. Limits KV key breakdown using this prefix filter."),
  format: stringFlag("pretty", "Output format {pretty|json}"),
};

/** The tables Consul prints (Go tabwriter, minwidth 8, padding 6). */
export function prettyInspect(info: InspectOutput): string {
  const rows = [
    ` ID\t${info.Meta.ID}`,
    ` Size\t${info.Meta.Size}`,
    ` Index\t${info.Meta.Index}`,
    ` Term\t${info.Meta.Term}`,
    ` Version\t${info.Meta.Version}`,
    "",
    " Type\tCount\tSize\t",
    " ----\t----\t----\t",
    ...info.Stats.map((s) => ` ${s.Name}\t${s.Count}\t${byteSize(s.Sum)}\t`),
    " ----\t----\t----\t",
    ` Total\t\t${byteSize(info.TotalSize)}\t`,
  ];
  let out = tabwrite(rows.join("\n"), 6, 8);
  if (info.StatsKV !== undefined) {
    const kv = [
      "",
      "",
      " Key Name\tCount\tSize\t",
      " ----\t----\t----\t",
      ...info.StatsKV.map((s) => ` ${s.Name}\t${s.Count}\t${byteSize(s.Sum)}\t`),
      " ----\t----\t----\t",
      ` Total\t\t${byteSize(info.TotalSizeKV ?? 0)}\t`,
    ];
    out += tabwrite(kv.join("\n"), 6, 8);
  }
  return out;
}

export const snapshotInspectCommand = defineCommand({
  synopsis: "Displays information about a Consul snapshot file",
  help,
  flags,
  async run({ values, args }, ui) {
    if (args.length === 0) {
      ui.error("Missing FILE argument");
      return 1;
    }
    if (args.length > 1) {
      ui.error(`Too many arguments (expected 1, got ${args.length})`);
      return 1;
    }
    if (values.format !== "pretty" && values.format !== "json") {
      ui.error(`Error outputting enhanced snapshot data: Unknown format: ${values.format}`);
      return 1;
    }
    const file = args[0]!;
    let bytes: Uint8Array;
    try {
      bytes = await ui.io.readFile(file);
    } catch (err) {
      ui.error(`Error opening snapshot file: ${describeFsError(err, file)}`);
      return 1;
    }
    let meta: SnapshotMeta;
    let state: Uint8Array;
    const base = file.slice(file.lastIndexOf("/") + 1).toLowerCase();
    if (base === "state.bin") {
      // An unpacked archive: meta.json must sit beside it.
      const metaPath = `${file.slice(0, file.lastIndexOf("/") + 1)}meta.json`;
      let raw: Uint8Array;
      try {
        raw = await ui.io.readFile(metaPath);
      } catch (err) {
        ui.error(`Error reading meta.json from internal snapshot dir: ${describeFsError(err, metaPath)}`);
        return 1;
      }
      try {
        meta = checkMeta(JSON.parse(new TextDecoder().decode(raw)));
      } catch (err) {
        ui.error(`Error parsing meta.json from internal snapshot dir: ${errorText(err)}`);
        return 1;
      }
      state = bytes;
    } else {
      try {
        ({ meta, state } = readArchive(bytes));
      } catch (err) {
        ui.error(`Error reading snapshot: ${errorText(err)}`);
        return 1;
      }
    }
    let info: InspectOutput;
    try {
      info = inspectState(meta, state, { kvDetails: values.kvdetails, kvDepth: values.kvdepth, kvFilter: values.kvfilter });
    } catch (err) {
      ui.error(`Error extracting snapshot data: ${errorText(err)}`);
      return 1;
    }
    ui.output(values.format === "json" ? JSON.stringify(info, null, 3) : prettyInspect(info));
    return 0;
  },
});
