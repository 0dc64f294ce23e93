/** `consulate snapshot save`: downloads an archive, verifies it, then moves it into place. */
import { readArchive } from "../../snapshot/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { stringFlag } from "../flags.ts";
import { clientFlags, connectAgent, serverFlags } from "../http_flags.ts";
import type { Client } from "../../api/mod.ts";

const help = `
Usage: consulate snapshot save [options] FILE

  Retrieves an atomic, point-in-time snapshot of the state of the Consul servers
  which includes key/value entries, service catalog, prepared queries, sessions,
  and ACLs.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.

  To create a snapshot from the leader server and save it to "backup.snap":

    $ consulate snapshot save backup.snap

  To create a potentially stale snapshot from any available server (useful if no
  leader is available):

    $ consulate snapshot save -stale backup.snap

  For a full list of options and examples, please see the Consul documentation.
`;

const flags = {
  ...clientFlags,
  ...serverFlags,
  "append-filename": stringFlag(
    "",
    "Append filename flag takes two possible values. 1. version, 2. dc. 3. node 5. status. It appends consul version and datacenter to filename given in command",
  ),
};

/** `backup.snap` with `-append-filename version,dc` becomes `backup-<version>-<dc>.snap`, as in Consul. */
async function decoratedName(client: Client, file: string, wanted: readonly string[]): Promise<string> {
  const self = await client.agent().self();
  const slash = file.lastIndexOf("/");
  const dot = file.lastIndexOf(".");
  const ext = dot > slash ? file.slice(dot) : "";
  let base = file.slice(0, file.length - ext.length);
  const config = self.Config ?? {};
  if (wanted.includes("version") && typeof config.Version === "string") base += `-${config.Version}`;
  if (wanted.includes("dc") && typeof config.Datacenter === "string") base += `-${config.Datacenter}`;
  if (wanted.includes("node") && typeof config.NodeName === "string") base += `-${config.NodeName}`;
  const consul = self.Stats?.consul as Record<string, unknown> | undefined;
  if (wanted.includes("status") && consul && "leader" in consul) base += consul.leader === "true" ? "-leader" : "-follower";
  return base + ext;
}

export const snapshotSaveCommand = defineCommand({
  synopsis: "Saves snapshot of Consul server state",
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
    let file = args[0]!;
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    const appendFlags = values["append-filename"].split(",").filter((s) => s !== "");
    if (appendFlags.length > 0) {
      try {
        file = await decoratedName(client, file, appendFlags);
      } catch (err) {
        ui.error(`Error connecting to Consul agent and fetching datacenter/version: ${errorText(err)}`);
        return 1;
      }
    }
    let archive: Uint8Array;
    let index: number;
    try {
      const [data, meta] = await client.snapshot().save({ stale: values.stale });
      archive = data;
      index = meta.lastIndex;
    } catch (err) {
      ui.error(`Error saving snapshot: ${errorText(err)}`);
      return 1;
    }
    // Written beside the target first and verified from disk, so FILE is only ever a good archive.
    const unverified = `${file}.unverified`;
    try {
      await ui.io.writeFile(unverified, archive);
    } catch (err) {
      ui.error(`Error writing unverified snapshot file: ${errorText(err)}`);
      return 1;
    }
    try {
      try {
        readArchive(await ui.io.readFile(unverified));
      } catch (err) {
        ui.error(`Error verifying snapshot file: ${errorText(err)}`);
        return 1;
      }
      try {
        await ui.io.rename(unverified, file);
      } catch (err) {
        ui.error(`Error renaming ${JSON.stringify(unverified)} to ${JSON.stringify(file)}: ${errorText(err)}`);
        return 1;
      }
    } finally {
      await ui.io.removeFile(unverified).catch(() => {});
    }
    ui.info(`Saved and verified snapshot to index ${index}`);
    return 0;
  },
});
