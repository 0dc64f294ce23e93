/** `consulate operator federation status|promote` (Consulate's own). */
import { defineCommand, errorText } from "../command.ts";
import { columnize } from "../format/columnize.ts";
import { clientFlags, connectAgent, serverFlags } from "../http_flags.ts";
import { groupCommand } from "../subcommands.ts";

export const operatorFederationStatusCommand = defineCommand({
  synopsis: "Show the primary datacenter and the reachable datacenters",
  help: `
Usage: consulate operator federation status [options]

  Shows this datacenter, the primary datacenter it follows (with the promotion
  epoch: 0 is the configured primary) and every reachable datacenter, nearest
  first, with its estimated round trip.
`,
  flags: { ...clientFlags, ...serverFlags },
  async run({ values }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      const s = await client.operator().federation({ stale: values.stale });
      ui.output(`Datacenter: ${s.Datacenter}\nPrimary:    ${s.PrimaryDatacenter} (epoch ${s.Epoch})`);
      const rows = s.Datacenters.map((d) => `${d.Datacenter}\x1f${d.RTTMs === null ? "unknown" : `${d.RTTMs.toFixed(3)} ms`}`);
      ui.output(columnize(["Datacenter\x1fRTT", ...rows]));
      return 0;
    } catch (err) {
      ui.error(`Error reading the federation status: ${errorText(err)}`);
      return 1;
    }
  },
});

export const operatorFederationPromoteCommand = defineCommand({
  synopsis: "Make the agent's datacenter the primary datacenter",
  help: `
Usage: consulate operator federation promote [options]

  Makes the datacenter of the agent asked (a server) the primary datacenter:
  authoritative for config entries, intentions and the CA from now on. The
  promotion spreads to every other datacenter through WAN gossip; an old
  primary that comes back follows it as a secondary. See federation/README.md
  for the procedure.
`,
  flags: { ...clientFlags },
  async run({ values }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      const r = await client.operator().federationPromote();
      ui.output(`Datacenter ${r.PrimaryDatacenter} is now the primary datacenter (epoch ${r.Epoch})`);
      return 0;
    } catch (err) {
      ui.error(`Error promoting the datacenter: ${errorText(err)}`);
      return 1;
    }
  },
});

export const operatorFederationCommand = groupCommand(
  "operator federation",
  "Primary datacenter and federation status",
  `
  Shows the federation of datacenters and promotes a secondary datacenter to
  primary.
`,
  { status: operatorFederationStatusCommand, promote: operatorFederationPromoteCommand },
);
