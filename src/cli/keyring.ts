/** `consulate keyring`: list, install, use and remove gossip encryption keys (Consul's command/keyring). */
import { defineCommand, errorText } from "./command.ts";
import { boolFlag, intFlag, stringFlag, usage } from "./flags.ts";
import { connectAgent, clientFlags } from "./http_flags.ts";
import type { KeyringResponse } from "../api/mod.ts";

const help = `
Usage: consulate keyring [options]

  Manages encryption keys used for gossip messages. Gossip encryption is
  optional. When enabled, this command may be used to examine active encryption
  keys in the cluster, add new keys, and remove old ones. When combined, this
  functionality provides the ability to perform key rotation cluster-wide,
  without disrupting the cluster.

  All operations performed by this command can only be run against server nodes,
  and affect both the LAN and WAN keyrings in lock-step.

  All variations of the keyring command return 0 if all nodes reply and there
  are no errors. If any node fails to reply or reports failure, the exit code
  will be 1.
`;

const flags = {
  ...clientFlags,
  install: stringFlag("", "Install a new encryption key. This will broadcast the new key to all members in the cluster."),
  use: stringFlag("", "Change the primary encryption key, which is used to encrypt messages. The key must already be installed before this operation can succeed."),
  remove: stringFlag("", "Remove the given key from the cluster. This operation may only be performed on keys which are not currently the primary key."),
  list: boolFlag(false, "List all keys currently in use within the cluster."),
  "list-primary": boolFlag(false, "List all primary keys currently in use within the cluster."),
  "relay-factor": intFlag(0, "Setting this to a non-zero value will cause nodes to relay their response to the operation through this many randomly-chosen other nodes in the cluster. The maximum allowed value is 5."),
  "local-only": boolFlag(false, "Setting this to true will force the keyring query to only hit local servers (no WAN traffic). This flag can only be set for list queries."),
};

/** The rings as Consul prints them: a blank line, the ring name, then each key with its member count. */
export function formatKeyring(responses: readonly KeyringResponse[], primaryOnly: boolean): string[] {
  const out: string[] = [];
  for (const r of responses) {
    let pool = `${r.Datacenter} (LAN)`;
    if (r.Segment !== "") pool += ` [${r.Segment}]`;
    if (r.WAN) pool = "WAN";
    out.push("", `${pool}:`);
    const keys = primaryOnly ? r.PrimaryKeys : r.Keys;
    for (const [key, n] of Object.entries(keys)) out.push(`  ${key} [${n}/${r.NumNodes}]`);
  }
  return out;
}

export const keyringCommand = defineCommand({
  synopsis: "Manages gossip layer encryption keys",
  help,
  flags,
  async run({ values }, ui) {
    const actions = [values.list, values["list-primary"], values.install !== "", values.use !== "", values.remove !== ""].filter(Boolean).length;
    if (actions > 1) {
      ui.error("Only a single action is allowed");
      return 1;
    }
    if (actions === 0) {
      ui.error(usage(help, flags));
      return 1;
    }
    const relay = values["relay-factor"];
    if (relay < 0 || relay > 5) {
      ui.error("Error parsing relay factor: Relay factor must be in range: [0, 5]");
      return 1;
    }
    if (values["local-only"] && !values.list && !values["list-primary"]) {
      ui.error("Error: -local-only can only be used with -list or -list-primary");
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    const op = client.operator();
    const opts = { relayFactor: relay, localOnly: values["local-only"] };
    try {
      if (values.list || values["list-primary"]) {
        ui.output(values.list ? "==> Gathering installed encryption keys..." : "==> Gathering installed primary encryption keys...");
        const responses = await op.keyringList(opts);
        for (const line of formatKeyring(responses, values["list-primary"])) ui.output(line);
        return 0;
      }
      if (values.install !== "") {
        ui.output("==> Installing new gossip encryption key...");
        await op.keyringInstall(values.install, opts);
      } else if (values.use !== "") {
        ui.output("==> Changing primary gossip encryption key...");
        await op.keyringUse(values.use, opts);
      } else {
        ui.output("==> Removing gossip encryption key...");
        await op.keyringRemove(values.remove, opts);
      }
    } catch (err) {
      ui.error(`error: ${errorText(err)}`);
      return 1;
    }
    return 0;
  },
});
