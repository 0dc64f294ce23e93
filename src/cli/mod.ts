/** The `consulate` command line: command table, dispatcher and shared helpers. */
export { runCli } from "./run.ts";
export { commands, topUsage } from "./commands.ts";
export type { Command } from "./command.ts";
export { defineCommand, parseCommandFlags } from "./command.ts";
export type { CliIo } from "./io.ts";
export { Ui } from "./io.ts";
export {
  FlagError,
  HelpRequested,
  boolFlag,
  durationFlag,
  intFlag,
  mapFlag,
  parseBool,
  parseFlags,
  stringFlag,
  uint64Flag,
  usage,
} from "./flags.ts";
export type { Flag, FlagSpec, FlagValues, Parsed } from "./flags.ts";
export { apiClient, clientFlags, serverFlags, HTTP_ADDR_ENV, HTTP_TOKEN_ENV, HTTP_TOKEN_FILE_ENV, HTTP_SSL_ENV } from "./http_flags.ts";
export { columnize, COLUMN_DELIM } from "./format/columnize.ts";
export { tabwrite } from "./format/tabwriter.ts";
export { loadDataSource, DataSourceError } from "./data_source.ts";
export { kvCommand } from "./kv/mod.ts";
export { catalogCommand } from "./catalog/mod.ts";
export { membersCommand } from "./members.ts";
export { lockCommand } from "./lock.ts";
export { eventCommand } from "./event.ts";
export { leaveCommand } from "./leave.ts";
export { maintCommand } from "./maint.ts";
export { reloadCommand } from "./reload.ts";
export { servicesCommand, servicesDeregisterCommand, servicesRegisterCommand } from "./services/mod.ts";
export { watchCommand } from "./watch/mod.ts";
export { versionCommand, prettyVersion, VERSION, PROTOCOL } from "./version.ts";
