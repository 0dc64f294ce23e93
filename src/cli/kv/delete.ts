/** `consulate kv delete`: one key, a key with check-and-set, or a prefix (`-recurse`). */
import { defineCommand, errorText } from "../command.ts";
import { boolFlag, uint64Flag } from "../flags.ts";
import { connectAgent, clientFlags, serverFlags } from "../http_flags.ts";

const help = `
Usage: consulate kv delete [options] KEY_OR_PREFIX

  Removes the value from Consul's key-value store at the given path. If no
  key exists at the path, no action is taken.

  To delete the value for the key named "foo" in the key-value store:

      $ consulate kv delete foo

  To delete all keys which start with "foo", specify the -recurse option:

      $ consulate kv delete -recurse foo

  This will delete the keys named "foo", "food", and "foo/bar/zip" if they
  existed.
`;

const flags = {
  ...clientFlags,
  ...serverFlags,
  cas: boolFlag(
    false,
    "Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set. The default value is false.",
  ),
  "modify-index": uint64Flag(0n, "Unsigned integer representing the ModifyIndex of the key. This is used in combination with the -cas flag."),
  recurse: boolFlag(false, "Recursively delete all keys with the path. The default value is false."),
};

export const kvDeleteCommand = defineCommand({
  synopsis: "Removes data from the KV store",
  help,
  flags,
  async run({ values, args }, ui) {
    if (args.length > 1) {
      ui.error(`Too many arguments (expected 1, got ${args.length})`);
      return 1;
    }
    let key = args[0] ?? "";
    if (key.startsWith("/")) key = key.slice(1);
    if (key === "" && !values.recurse) {
      ui.error("Error! Missing KEY argument");
      return 1;
    }
    const modifyIndex = values["modify-index"];
    if (values.cas && modifyIndex === 0n) {
      ui.error("Cannot delete a key that does not exist. Provide a -modify-index greater than than 0.");
      return 1;
    }
    if (modifyIndex !== 0n && !values.cas) {
      ui.error("Cannot specify -modify-index without -cas!");
      return 1;
    }
    if (values.recurse && values.cas) {
      ui.error("Cannot specify both -cas and -recurse!");
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    const kv = client.kv();
    if (values.recurse) {
      try {
        await kv.deleteTree(key);
      } catch (err) {
        ui.error(`Error! Did not delete prefix ${key}: ${errorText(err)}`);
        return 1;
      }
      ui.info(`Success! Deleted keys with prefix: ${key}`);
      return 0;
    }
    if (values.cas) {
      let ok: boolean;
      try {
        ok = await kv.deleteCAS({ Key: key, ModifyIndex: Number(modifyIndex) });
      } catch (err) {
        ui.error(`Error! Did not delete key ${key}: ${errorText(err)}`);
        return 1;
      }
      if (!ok) {
        ui.error(`Error! Did not delete key ${key}: CAS failed`);
        return 1;
      }
      ui.info(`Success! Deleted key: ${key}`);
      return 0;
    }
    try {
      await kv.delete(key);
    } catch (err) {
      ui.error(`Error deleting key ${key}: ${errorText(err)}`);
      return 1;
    }
    ui.info(`Success! Deleted key: ${key}`);
    return 0;
  },
});
