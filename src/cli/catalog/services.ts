/** `consulate catalog services`: service names, optionally with tags or for one node. */
import { defineCommand, errorText } from "../command.ts";
import { boolFlag, mapFlag, stringFlag } from "../flags.ts";
import { tabwrite } from "../format/tabwriter.ts";
import { connectAgent, clientFlags, serverFlags } from "../http_flags.ts";
import { byCodeUnits } from "./nodes.ts";

const help = `
Usage: consulate catalog services [options]

  Retrieves the list services registered in a given datacenter. By default, the
  datacenter of the local agent is queried.

  To retrieve the list of services:

      $ consulate catalog services

  To include the services' tags in the output:

      $ consulate catalog services -tags

  To list services which run on a particular node:

      $ consulate catalog services -node=web

  To filter services on node metadata:

      $ consulate catalog services -node-meta="foo=bar"
`;

const flags = {
  ...clientFlags,
  ...serverFlags,
  filter: stringFlag("", "Filter to use with the request"),
  node: stringFlag("", "Node `id or name` for which to list services.", { placeholder: "id or name" }),
  "node-meta": mapFlag(
    "Metadata to filter nodes with the given `key=value` pairs. If specified, only services running on nodes matching the given metadata will be returned. This flag may be specified multiple times to filter on multiple sources of metadata.",
  ),
  tags: boolFlag(false, "Display each service's tags as a comma-separated list beside each service entry."),
};

export const catalogServicesCommand = defineCommand({
  synopsis: "Lists all registered services in a datacenter",
  help,
  flags,
  async run({ values, args }, ui) {
    if (args.length > 0) {
      ui.error(`Too many arguments (expected 0, got ${args.length})`);
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    const q = { nodeMeta: values["node-meta"], filter: values.filter, stale: values.stale };
    let services: Record<string, string[]> = {};
    if (values.node !== "") {
      try {
        const [node] = await client.catalog().node(values.node, q);
        for (const s of Object.values(node?.Services ?? {})) {
          services[s.Service] = [...(services[s.Service] ?? []), ...(s.Tags ?? [])];
        }
      } catch (err) {
        ui.error(`Error listing services for node: ${errorText(err)}`);
        return 1;
      }
    } else {
      try {
        [services] = await client.catalog().services(q);
      } catch (err) {
        ui.error(`Error listing services: ${errorText(err)}`);
        return 1;
      }
    }
    const names = Object.keys(services).sort(byCodeUnits);
    if (names.length === 0) {
      ui.error("No services match the given query - try expanding your search.");
      return 0;
    }
    if (values.tags) {
      const text = names.map((s) => `${s}\t${[...(services[s] ?? [])].sort(byCodeUnits).join(",")}\n`).join("");
      ui.output(tabwrite(text).trim());
    } else {
      for (const s of names) ui.output(s);
    }
    return 0;
  },
});
