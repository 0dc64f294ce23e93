/** `consulate catalog nodes`: nodes, optionally those running a service. */
import type { Node } from "../../api/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { loadDataSource } from "../data_source.ts";
import { boolFlag, mapFlag, stringFlag } from "../flags.ts";
import { columnize } from "../format/columnize.ts";
import { connectAgent, clientFlags, serverFlags } from "../http_flags.ts";

const help = `
Usage: consulate catalog nodes [options]

  Retrieves the list nodes registered in a given datacenter. By default, the
  datacenter of the local agent is queried.

  To retrieve the list of nodes:

      $ consulate catalog nodes

  To print detailed information including full node IDs, tagged addresses, and
  metadata information:

      $ consulate catalog nodes -detailed

  To list nodes which are running a particular service:

      $ consulate catalog nodes -service=web

  To filter by node metadata:

      $ consulate catalog nodes -node-meta="foo=bar"

  To sort nodes by estimated round-trip time from node-web:

      $ consulate catalog nodes -near=node-web
`;

const flags = {
  ...clientFlags,
  ...serverFlags,
  detailed: boolFlag(false, "Output detailed information about the nodes including their addresses and metadata."),
  filter: stringFlag("", "Filter to use with the request"),
  near: stringFlag(
    "",
    'Node name to sort the node list in ascending order based on estimated round-trip time from that node. Passing "_agent" will use this agent\'s node for sorting.',
  ),
  "node-meta": mapFlag(
    "Metadata to filter nodes with the given `key=value` pairs. This flag may be specified multiple times to filter on multiple sources of metadata.",
  ),
  service: stringFlag("", "Service `id or name` to filter nodes. Only nodes which are providing the given service will be returned.", {
    placeholder: "id or name",
  }),
};

export const catalogNodesCommand = defineCommand({
  synopsis: "Lists all nodes in the given datacenter",
  help,
  flags,
  async run({ values, args }, ui) {
    if (args.length > 0) {
      ui.error(`Too many arguments (expected 0, got ${args.length})`);
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let filter = values.filter;
    if (filter !== "") {
      try {
        filter = new TextDecoder().decode(await loadDataSource(filter, ui.io));
      } catch (err) {
        ui.error(`Could not process filter argument: ${errorText(err)}`);
        return 1;
      }
    }
    const q = { near: values.near, nodeMeta: values["node-meta"], filter, stale: values.stale };
    let nodes: Node[];
    if (values.service !== "") {
      try {
        const [services] = await client.catalog().service(values.service, [], q);
        nodes = services.map((s) => ({
          ID: s.ID,
          Node: s.Node,
          Address: s.Address,
          Datacenter: s.Datacenter,
          TaggedAddresses: s.TaggedAddresses,
          Meta: s.NodeMeta,
          CreateIndex: s.CreateIndex,
          ModifyIndex: s.ModifyIndex,
        }));
      } catch (err) {
        ui.error(`Error listing nodes for service: ${errorText(err)}`);
        return 1;
      }
    } else {
      try {
        [nodes] = await client.catalog().nodes(q);
      } catch (err) {
        ui.error(`Error listing nodes: ${errorText(err)}`);
        return 1;
      }
    }
    if (nodes.length === 0) {
      ui.error("No nodes match the given query - try expanding your search.");
      return 0;
    }
    ui.info(formatNodes(nodes, values.detailed));
    return 0;
  },
});

/** The node table; the short form cuts the node ID at its first dash. */
export function formatNodes(nodes: readonly Node[], detailed: boolean): string {
  const rows = [detailed ? "Node\x1fID\x1fAddress\x1fDC\x1fTaggedAddresses\x1fMeta" : "Node\x1fID\x1fAddress\x1fDC"];
  for (const n of nodes) {
    if (detailed) {
      rows.push([n.Node, n.ID, n.Address, n.Datacenter, mapToKV(n.TaggedAddresses, ", "), mapToKV(n.Meta, ", ")].join("\x1f"));
    } else {
      const dash = n.ID.indexOf("-");
      rows.push([n.Node, dash > 0 ? n.ID.slice(0, dash) : n.ID, n.Address, n.Datacenter].join("\x1f"));
    }
  }
  return columnize(rows);
}

/** `k1=v1, k2=v2`, sorted by key. */
export function mapToKV(m: Readonly<Record<string, string>> | null | undefined, joiner: string): string {
  return Object.keys(m ?? {})
    .sort(byCodeUnits)
    .map((k) => `${k}=${m?.[k] ?? ""}`)
    .join(joiner);
}

/** Go's sort.Strings order (bytewise), not locale order. */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
