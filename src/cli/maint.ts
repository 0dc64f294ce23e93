/** `consulate maint`: node or service maintenance mode, or the list of what is in it. */
import { defineCommand, errorText } from "./command.ts";
import { boolFlag, stringFlag } from "./flags.ts";
import { connectAgent, clientFlags } from "./http_flags.ts";

const help = `
Usage: consulate maint [options]

  Places a node or service into maintenance mode. During maintenance mode,
  the node or service will be excluded from all queries through the DNS
  or API interfaces, effectively taking it out of the pool of available
  nodes. This is done by registering an additional critical health check.

  When enabling maintenance mode for a node or service, you may optionally
  specify a reason string. This string will appear in the "Notes" field
  of the critical health check which is registered against the node or
  service. If no reason is provided, a default value will be used.

  Maintenance mode is persistent, and will be restored in the event of an
  agent restart. It is therefore required to disable maintenance mode on
  a given node or service before it will be placed back into the pool.

  By default, we operate on the node as a whole. By specifying the
  "-service" argument, this behavior can be changed to enable or disable
  only a specific service.

  If no arguments are given, the agent's maintenance status will be shown.
  This will return blank if nothing is currently under maintenance.
`;

const flags = {
  ...clientFlags,
  enable: boolFlag(false, "Enable maintenance mode."),
  disable: boolFlag(false, "Disable maintenance mode."),
  reason: stringFlag("", "Text describing the maintenance reason."),
  service: stringFlag("", "Control maintenance mode for a specific service ID."),
};

export const maintCommand = defineCommand({
  synopsis: "Controls node or service maintenance mode",
  help,
  flags,
  async run({ values }, ui) {
    const { enable, disable, reason, service } = values;
    if (enable && disable) {
      ui.error("Only one of -enable or -disable may be provided");
      return 1;
    }
    if (!enable && reason !== "") {
      ui.error("Reason may only be provided with -enable");
      return 1;
    }
    if (!enable && !disable && service !== "") {
      ui.error("Service requires either -enable or -disable");
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    const agent = client.agent();
    let nodeName: string;
    try {
      nodeName = await agent.nodeName();
    } catch (err) {
      ui.error(`Error querying Consul agent: ${errorText(err)}`);
      return 1;
    }
    if (!enable && !disable) {
      let checks;
      try {
        checks = await agent.checks();
      } catch (err) {
        ui.error(`Error getting checks: ${errorText(err)}`);
        return 1;
      }
      for (const check of Object.values(checks)) {
        if (check.CheckID === "_node_maintenance") {
          ui.output("Node:");
          ui.output(`  Name:   ${nodeName}`);
          ui.output(`  Reason: ${check.Notes}`);
          ui.output("");
        } else if (check.CheckID.startsWith("_service_maintenance:")) {
          ui.output("Service:");
          ui.output(`  ID:     ${check.ServiceID}`);
          ui.output(`  Reason: ${check.Notes}`);
          ui.output("");
        }
      }
      return 0;
    }
    const what = service === "" ? "node" : "service";
    try {
      if (service === "") {
        if (enable) await agent.enableNodeMaintenance(reason);
        else await agent.disableNodeMaintenance();
      } else if (enable) {
        await agent.enableServiceMaintenance(service, reason);
      } else {
        await agent.disableServiceMaintenance(service);
      }
    } catch (err) {
      ui.error(`Error ${enable ? "enabling" : "disabling"} ${what} maintenance: ${errorText(err)}`);
      return 1;
    }
    const state = enable ? "enabled" : "disabled";
    ui.output(service === "" ? `Node maintenance is now ${state}` : `Service maintenance is now ${state} for ${JSON.stringify(service)}`);
    return 0;
  },
});
