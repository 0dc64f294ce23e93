/** `consulate kv ...` */
import { groupCommand } from "../subcommands.ts";
import { kvDeleteCommand } from "./delete.ts";
import { kvExportCommand } from "./export.ts";
import { kvGetCommand } from "./get.ts";
import { kvImportCommand } from "./import.ts";
import { kvPutCommand } from "./put.ts";

export { kvDeleteCommand, kvExportCommand, kvGetCommand, kvImportCommand, kvPutCommand };
export { prettyKVPair } from "./get.ts";
export { parseEntries, toEntry, ImportDecodeError } from "./impexp.ts";
export type { ExportEntry } from "./impexp.ts";

export const kvCommand = groupCommand(
  "kv",
  "Interact with the key-value store",
  `
  This command has subcommands for interacting with Consul's key-value
  store. Here are some simple examples, and more detailed examples are
  available in the subcommands or the documentation.

  Create or update the key named "redis/config/connections" with the value "5":

      $ consulate kv put redis/config/connections 5

  Read this value back:

      $ consulate kv get redis/config/connections

  Or get detailed key information:

      $ consulate kv get -detailed redis/config/connections

  Finally, delete the key:

      $ consulate kv delete redis/config/connections
`,
  {
    delete: kvDeleteCommand,
    export: kvExportCommand,
    get: kvGetCommand,
    import: kvImportCommand,
    put: kvPutCommand,
  },
);
