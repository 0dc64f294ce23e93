/** `consulate services ...` */
import { servicesDeregisterCommand } from "./deregister.ts";
import { servicesRegisterCommand } from "./register.ts";
import { groupCommand } from "../subcommands.ts";

export { servicesDeregisterCommand, servicesRegisterCommand };

export const servicesCommand = groupCommand(
  "services",
  "Interact with services",
  `
  This command has subcommands for interacting with services. The subcommands
  default to working with services registered with the local agent. Please see
  the "consulate catalog" command for interacting with the entire catalog.

  For more examples, ask for subcommand help or view the documentation.
`,
  {
    register: servicesRegisterCommand,
    deregister: servicesDeregisterCommand,
  },
);
