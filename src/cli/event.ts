/** `consulate event`: fire a user event. */
import { defineCommand, errorText } from "./command.ts";
import { stringFlag, usage } from "./flags.ts";
import { apiClient, clientFlags } from "./http_flags.ts";
import { compileRe2 } from "../filter/re2.ts";

const help = `
Usage: consulate event [options] [payload]

  Dispatches a custom user event across a datacenter. An event must provide
  a name, but a payload is optional. Events support filtering using
  regular expressions on node name, service, and tag definitions.
`;

const flags = {
  ...clientFlags,
  name: stringFlag("", "Name of the event."),
  node: stringFlag("", "Regular expression to filter on node names."),
  service: stringFlag("", "Regular expression to filter on service instances."),
  tag: stringFlag("", "Regular expression to filter on service tags. Must be used with -service."),
};

export const eventCommand = defineCommand({
  synopsis: "Fire a new event",
  help,
  flags,
  async run({ values, args }, ui) {
    if (values.name === "") {
      ui.error("Event name must be specified");
      ui.error("");
      ui.error(usage(help, flags));
      return 1;
    }
    const bad = filterError(values);
    if (bad !== null) {
      ui.error(bad);
      return 1;
    }
    if (args.length > 1) {
      ui.error("Too many command line arguments.");
      ui.error("");
      ui.error(usage(help, flags));
      return 1;
    }
    let client;
    try {
      client = await apiClient(values, ui.io);
      await client.agent().nodeName();
    } catch (err) {
      ui.error(`${client ? "Error querying Consul agent" : "Error connecting to Consul agent"}: ${errorText(err)}`);
      return 1;
    }
    let id: string;
    try {
      id = await client.event().fire({
        Name: values.name,
        Payload: args[0] ?? "",
        NodeFilter: values.node,
        ServiceFilter: values.service,
        TagFilter: values.tag,
      });
    } catch (err) {
      ui.error(`Error firing event: ${errorText(err)}`);
      return 1;
    }
    ui.output(`Event ID: ${id}`);
    return 0;
  },
});

/** The CLI's check of the node/service/tag filters of an event (shared with `exec`); null when they are fine. */
export function filterError(f: { readonly node: string; readonly service: string; readonly tag: string }): string | null {
  for (const [what, pattern] of [["node", f.node], ["service", f.service], ["tag", f.tag]] as const) {
    if (pattern === "") continue;
    try {
      compileRe2(pattern);
    } catch (err) {
      return `Failed to compile ${what} filter regexp: ${errorText(err)}`;
    }
  }
  return f.tag !== "" && f.service === "" ? "Cannot provide tag filter without service filter." : null;
}
