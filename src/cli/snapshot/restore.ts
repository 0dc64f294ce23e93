/** `consulate snapshot restore`: uploads an archive; the servers replace their state with it. */
import { defineCommand, errorText } from "../command.ts";
import { describeFsError } from "../data_source.ts";
import { clientFlags, connectAgent, serverFlags } from "../http_flags.ts";

const help = `
Usage: consulate snapshot restore [options] FILE

  Restores an atomic, point-in-time snapshot of the state of the Consul servers
  which includes key/value entries, service catalog, prepared queries, sessions,
  and ACLs.

  Restores involve a potentially dangerous low-level Raft operation that is not
  designed to handle server failures during a restore. This command is primarily
  intended to be used when recovering from a disaster, restoring into a fresh
  cluster of Consul servers.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.

  To restore a snapshot from the file "backup.snap":

    $ consulate snapshot restore backup.snap

  For a full list of options and examples, please see the Consul documentation.
`;

export const snapshotRestoreCommand = defineCommand({
  synopsis: "Restores snapshot of Consul server state",
  help,
  flags: { ...clientFlags, ...serverFlags },
  async run({ values, args }, ui) {
    if (args.length === 0) {
      ui.error("Missing FILE argument");
      return 1;
    }
    if (args.length > 1) {
      ui.error(`Too many arguments (expected 1, got ${args.length})`);
      return 1;
    }
    const file = args[0]!;
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let archive: Uint8Array<ArrayBuffer>;
    try {
      archive = new Uint8Array(await ui.io.readFile(file));
    } catch (err) {
      ui.error(`Error opening snapshot file: ${describeFsError(err, file)}`);
      return 1;
    }
    try {
      await client.snapshot().restore(archive);
    } catch (err) {
      ui.error(`Error restoring snapshot: ${errorText(err)}`);
      return 1;
    }
    ui.info("Restored snapshot");
    return 0;
  },
});
