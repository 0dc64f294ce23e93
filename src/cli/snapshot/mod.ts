/** `consulate snapshot ...` */
import { groupCommand } from "../subcommands.ts";
import { snapshotInspectCommand, prettyInspect } from "./inspect.ts";
import { snapshotRestoreCommand } from "./restore.ts";
import { snapshotSaveCommand } from "./save.ts";

export { prettyInspect, snapshotInspectCommand, snapshotRestoreCommand, snapshotSaveCommand };

export const snapshotCommand = groupCommand(
  "snapshot",
  "Saves, restores and inspects snapshots of Consul server state",
  `
  This command has subcommands for saving, restoring, and inspecting the state
  of the Consul servers for disaster recovery. These are atomic, point-in-time
  snapshots which include key/value entries, service catalog, prepared queries,
  sessions, and ACLs.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.

  Create a snapshot:

      $ consulate snapshot save backup.snap

  Restore a snapshot:

      $ consulate snapshot restore backup.snap

  Inspect a snapshot:

      $ consulate snapshot inspect backup.snap

  Archives are gzipped tars in Consul's layout (meta.json, state.bin,
  SHA256SUMS); state.bin is Consulate's own state format, so archives move
  between Consulate servers, not to or from Consul.

  For more examples, ask for subcommand help or view the documentation.
`,
  {
    inspect: snapshotInspectCommand,
    restore: snapshotRestoreCommand,
    save: snapshotSaveCommand,
  },
);
