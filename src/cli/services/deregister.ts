/** `consulate services deregister`: remove services from the local agent by file or -id. */
import { type RawService, servicesFromFiles, stringField } from "./files.ts";
import { defineCommand, errorText } from "../command.ts";
import { stringFlag } from "../flags.ts";
import { connectAgent, clientFlags, serverFlags } from "../http_flags.ts";

const help = `
Usage: consulate services deregister [options] [FILE...]

  Deregister one or more services that were previously registered with
  the local agent.

      $ consulate services deregister web.json db.json

  The -id flag may be used to deregister a single service by ID:

      $ consulate services deregister -id=web

  Services are deregistered from the local agent catalog. This command must
  be run against the same agent where the service was registered.
`;

const flags = {
  ...clientFlags,
  ...serverFlags,
  id: stringFlag("", "ID to delete. This must not be set if arguments are given."),
};

export const servicesDeregisterCommand = defineCommand({
  synopsis: "Deregister services with the local agent",
  help,
  flags,
  async run({ values, args }, ui) {
    if (args.length === 0 && values.id === "") {
      ui.error("Service deregistration requires at least one argument or -id.");
      return 1;
    }
    if (args.length > 0 && values.id !== "") {
      ui.error("Service deregistration requires arguments or -id, not both.");
      return 1;
    }
    let services: RawService[] = [{ ID: values.id }];
    if (args.length > 0) {
      try {
        services = await servicesFromFiles(args);
      } catch (err) {
        ui.error(`Error: ${errorText(err)}`);
        return 1;
      }
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    for (const svc of services) {
      const id = stringField(svc, "ID") || stringField(svc, "Name");
      if (id === "") continue;
      try {
        await client.agent().serviceDeregister(id);
      } catch (err) {
        // Consul's text says "registering" here too.
        ui.error(`Error registering service ${JSON.stringify(stringField(svc, "Name"))}: ${errorText(err)}`);
        return 1;
      }
      ui.output(`Deregistered service: ${id}`);
    }
    return 0;
  },
});
