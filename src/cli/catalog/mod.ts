/** `consulate catalog ...` */
import { groupCommand } from "../subcommands.ts";
import { catalogDatacentersCommand } from "./datacenters.ts";
import { catalogNodesCommand, formatNodes, mapToKV } from "./nodes.ts";
import { catalogServicesCommand } from "./services.ts";

export { catalogDatacentersCommand, catalogNodesCommand, catalogServicesCommand, formatNodes, mapToKV };

export const catalogCommand = groupCommand(
  "catalog",
  "Interact with the catalog",
  `
  This command has subcommands for interacting with Consul's catalog. The
  catalog should not be confused with the agent, although the APIs and
  responses may be similar.

  List all datacenters:

      $ consulate catalog datacenters

  List all nodes:

      $ consulate catalog nodes

  List all services:

      $ consulate catalog services
`,
  {
    datacenters: catalogDatacentersCommand,
    nodes: catalogNodesCommand,
    services: catalogServicesCommand,
  },
);
