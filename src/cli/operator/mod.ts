/** `consulate operator ...` */
import { groupCommand } from "../subcommands.ts";
import { formatPeers, operatorRaftListPeersCommand } from "./list_peers.ts";
import { operatorFederationCommand } from "./federation.ts";
import { operatorAutopilotCommand } from "./autopilot.ts";

export { formatPeers, operatorRaftListPeersCommand };

export const operatorRaftCommand = groupCommand(
  "operator raft",
  "Provides cluster-level tools for Consul operators",
  `
  The Raft operator command is used to interact with Consul's Raft subsystem. The
  command can be used to verify Raft peers or in rare cases to recover quorum by
  removing invalid peers.
`,
  { "list-peers": operatorRaftListPeersCommand },
);

export const operatorCommand = groupCommand(
  "operator",
  "Provides cluster-level tools for Consul operators",
  `
  Provides cluster-level tools for Consul operators, such as interacting with
  the Raft subsystem. NOTE: Use this command with extreme caution, as improper
  use could lead to a Consul outage and even loss of data.

  If ACLs are enabled then a token with operator privileges may be required in
  order to use this command. Requests are forwarded internally to the leader
  if required, so this can be run from any Consul node in a cluster.

  Run consulate operator <subcommand> with no arguments for help on that
  subcommand.
`,
  { raft: operatorRaftCommand, autopilot: operatorAutopilotCommand, federation: operatorFederationCommand },
);
