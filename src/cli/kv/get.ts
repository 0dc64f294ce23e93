/** `consulate kv get`: one value, a prefix (`-recurse`), or key names (`-keys`). */
import { encodeBase64, type KVPair } from "../../api/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { boolFlag, stringFlag } from "../flags.ts";
import { tabwrite } from "../format/tabwriter.ts";
import { connectAgent, clientFlags, serverFlags } from "../http_flags.ts";

const help = `
Usage: consulate kv get [options] [KEY_OR_PREFIX]

  Retrieves the value from Consul's key-value store at the given key name. If no
  key exists with that name, an error is returned. If a key exists with that
  name but has no data, nothing is returned. If the name or prefix is omitted,
  it defaults to "" which is the root of the key-value store.

  To retrieve the value for the key named "foo" in the key-value store:

      $ consulate kv get foo

  To view detailed information about the key, specify the "-detailed" flag:

      $ consulate kv get -detailed foo

  To treat the path as a prefix and list all keys which start with the given
  prefix, specify the "-recurse" flag:

      $ consulate kv get -recurse foo

  To just list the keys which start with the specified prefix, use "-keys":

      $ consulate kv get -keys foo
`;

const flags = {
  ...clientFlags,
  ...serverFlags,
  base64: boolFlag(false, "Base64 encode the value. The default value is false."),
  detailed: boolFlag(
    false,
    "Provide additional metadata about the key in addition to the value such as the ModifyIndex and any flags that may have been set on the key. The default value is false.",
  ),
  keys: boolFlag(
    false,
    "List keys which start with the given prefix, but not their values. This is especially useful if you only need the key names themselves. This option is commonly combined with the -separator option. The default value is false.",
  ),
  recurse: boolFlag(false, "Recursively look at all keys prefixed with the given path. The default value is false."),
  separator: stringFlag(
    "/",
    'String to use as a separator between keys. The default value is "/", but this option is only taken into account when paired with the -keys flag.',
  ),
};

export const kvGetCommand = defineCommand({
  synopsis: "Retrieves or lists data from the KV store",
  help,
  flags,
  async run({ values, args }, ui) {
    if (args.length > 1) {
      ui.error(`Too many arguments (expected 1, got ${args.length})`);
      return 1;
    }
    // Keys cannot start with "/", but users type "/foo"; strip it as Consul does.
    let key = args[0] ?? "";
    if (key.startsWith("/")) key = key.slice(1);
    if (key === "" && !(values.recurse || values.keys)) {
      ui.error("Error! Missing KEY argument");
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    const q = { stale: values.stale };
    try {
      if (values.keys && values.recurse) {
        // Every key under the prefix, unfolded; -detailed shows metadata without values.
        const [pairs] = await client.kv().list(key, q);
        pairs.forEach((pair, i) => {
          if (values.detailed) {
            ui.info(prettyKVPair(pair, false, true));
            if (i < pairs.length - 1) ui.info("");
          } else {
            ui.info(pair.Key);
          }
        });
        return 0;
      }
      if (values.keys) {
        const [keys] = await client.kv().keys(key, values.separator, q);
        for (const k of keys) ui.info(k);
        return 0;
      }
      if (values.recurse) {
        const [pairs] = await client.kv().list(key, q);
        pairs.forEach((pair, i) => {
          if (values.detailed) {
            ui.info(prettyKVPair(pair, values.base64));
            if (i < pairs.length - 1) ui.info("");
          } else {
            ui.info(`${pair.Key}:${valueText(pair, values.base64)}`);
          }
        });
        return 0;
      }
      const [pair] = await client.kv().get(key, q);
      if (pair === null) {
        ui.error(`Error! No key exists at: ${key}`);
        return 1;
      }
      if (values.detailed || values.base64) ui.info(values.detailed ? prettyKVPair(pair, values.base64) : valueText(pair, values.base64));
      // Consul prints the value's bytes as they are, whatever they encode.
      else ui.infoBytes(pair.Value ?? new Uint8Array(0));
      return 0;
    } catch (err) {
      ui.error(`Error querying Consul agent: ${errorText(err)}`);
      return 1;
    }
  },
});

function valueText(pair: KVPair, base64: boolean): string {
  const value = pair.Value ?? new Uint8Array(0);
  return base64 ? encodeBase64(value) : new TextDecoder().decode(value);
}

/** The `-detailed` block: one aligned `Field  value` row per KV field. */
export function prettyKVPair(pair: KVPair, base64: boolean, keysOnly = false): string {
  const rows = [
    `CreateIndex\t${pair.CreateIndex}`,
    `Flags\t${pair.Flags}`,
    `Key\t${pair.Key}`,
    `LockIndex\t${pair.LockIndex}`,
    `ModifyIndex\t${pair.ModifyIndex}`,
    `Session\t${pair.Session ? pair.Session : "-"}`,
  ];
  if (pair.Partition) rows.push(`Partition\t${pair.Partition}`);
  if (pair.Namespace) rows.push(`Namespace\t${pair.Namespace}`);
  // Go writes the Value row without a newline; without it, the block ends in one.
  return tabwrite(keysOnly ? `${rows.join("\n")}\n` : [...rows, `Value\t${valueText(pair, base64)}`].join("\n"));
}
