/** `consulate connect ...` */
import { groupCommand } from "../subcommands.ts";
import { connectCACommand } from "./ca.ts";
import { connectProxyCommand } from "./proxy.ts";

export { connectCACommand, connectProxyCommand };

export const connectCommand = groupCommand(
  "connect",
  "Interact with Consul Connect",
  `
  This command has subcommands for interacting with Consul Connect.

  Run the built-in Connect mTLS proxy:

      $ consulate connect proxy

  For more examples, ask for subcommand help or view the documentation.
`,
  {
    ca: connectCACommand,
    proxy: connectProxyCommand,
  },
);
