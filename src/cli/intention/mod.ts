/** `consulate intention ...` */
import { groupCommand } from "../subcommands.ts";
import { intentionCreateCommand } from "./create.ts";
import { intentionCheckCommand, intentionDeleteCommand, intentionGetCommand, intentionListCommand, intentionMatchCommand } from "./read.ts";

export const intentionCommand = groupCommand(
  "intention",
  "Interact with Connect service intentions",
  `
  This command has subcommands for interacting with intentions. Intentions
  are permissions describing which services are allowed to communicate via
  Connect. Here are some simple examples, and more detailed examples are
  available in the subcommands or the documentation.

  Create an intention to allow "web" to talk to "db":

      $ consulate intention create web db

  Test whether a "web" is allowed to connect to "db":

      $ consulate intention check web db

  Find all intentions for communicating to the "db" service:

      $ consulate intention match db
`,
  {
    check: intentionCheckCommand,
    create: intentionCreateCommand,
    delete: intentionDeleteCommand,
    get: intentionGetCommand,
    list: intentionListCommand,
    match: intentionMatchCommand,
  },
);
