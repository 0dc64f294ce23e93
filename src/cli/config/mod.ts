/** `consulate config ...` */
import { groupCommand } from "../subcommands.ts";
import { configDeleteCommand, configListCommand, configReadCommand } from "./read.ts";
import { configWriteCommand } from "./write.ts";

export const configCommand = groupCommand(
  "config",
  "Interact with Consul's Centralized Configurations",
  `
  This command has subcommands for interacting with Consul's Centralized
  Configuration system. It provides a way to add, fetch and manage
  centralized configuration entries.

  Write a config entry from a JSON file:

      $ consulate config write web.json

  Read it back, list the entries of its kind, and delete it:

      $ consulate config read -kind service-defaults -name web
      $ consulate config list -kind service-defaults
      $ consulate config delete -kind service-defaults -name web
`,
  {
    delete: configDeleteCommand,
    list: configListCommand,
    read: configReadCommand,
    write: configWriteCommand,
  },
);
