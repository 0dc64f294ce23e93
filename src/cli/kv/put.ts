/** `consulate kv put`: write, check-and-set, acquire or release a key. */
import { Base64Error, decodeBase64 } from "../../api/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { loadDataSource } from "../data_source.ts";
import { boolFlag, stringFlag, uint64Flag } from "../flags.ts";
import { connectAgent, clientFlags, serverFlags } from "../http_flags.ts";

const help = `
Usage: consulate kv put [options] KEY [DATA]

  Writes the data to the given path in the key-value store. The data can be of
  any type.

      $ consulate kv put config/redis/maxconns 5

  The data can also be consumed from a file on disk by prefixing with the "@"
  symbol. For example:

      $ consulate kv put config/program/license @license.lic

  Or it can be read from stdin using the "-" symbol:

      $ echo "abcd1234" | consulate kv put config/program/license -

  The DATA argument itself is optional. If omitted, this will create an empty
  key-value pair at the specified path:

      $ consulate kv put webapp/beta/active

  If the -base64 flag is specified, the data will be treated as base 64
  encoded.

  To perform a Check-And-Set operation, specify the -cas flag with the
  appropriate -modify-index flag corresponding to the key you want to perform
  the CAS operation on:

      $ consulate kv put -cas -modify-index=844 config/redis/maxconns 5
`;

const flags = {
  ...clientFlags,
  ...serverFlags,
  acquire: boolFlag(
    false,
    "Obtain a lock on the key. If the key does not exist, this operation will create the key and obtain the lock. The session must already exist and be specified via the -session flag. The default value is false.",
  ),
  base64: boolFlag(false, "Treat the data as base 64 encoded. The default value is false."),
  cas: boolFlag(
    false,
    "Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set. The default value is false.",
  ),
  flags: uint64Flag(
    0n,
    "Unsigned integer value to assign to this key-value pair. This value is not read by Consul, so clients can use this value however makes sense for their use case. The default value is 0 (no flags).",
  ),
  "modify-index": uint64Flag(0n, "Unsigned integer representing the ModifyIndex of the key. This is used in combination with the -cas flag."),
  release: boolFlag(
    false,
    "Forfeit the lock on the key at the given path. This requires the -session flag to be set. The key must be held by the session in order to be unlocked. The default value is false.",
  ),
  session: stringFlag(
    "",
    "User-defined identifer for this session as a string. This is commonly used with the -acquire and -release operations to build robust locking, but it can be set on any key. The default value is empty (no session).",
  ),
};

export const kvPutCommand = defineCommand({
  synopsis: "Sets or updates data in the KV store",
  help,
  flags,
  async run({ values, args }, ui) {
    if (args.length === 0) {
      ui.error("Error! Missing KEY argument");
      return 1;
    }
    if (args.length > 2) {
      ui.error(`Error! Too many arguments (expected 1 or 2, got ${args.length})`);
      return 1;
    }
    const key = args[0] ?? "";
    let data: Uint8Array;
    try {
      data = args.length === 2 ? await loadDataSource(args[1] ?? "", ui.io) : new Uint8Array(0);
    } catch (err) {
      ui.error(`Error! ${errorText(err)}`);
      return 1;
    }
    if (values.base64) {
      try {
        data = decodeBase64(new TextDecoder().decode(data));
      } catch (err) {
        // Consul prints this and carries on with partial data; stopping is the safer reading.
        ui.error(`Error! Cannot base 64 decode data: ${err instanceof Base64Error ? err.message : errorText(err)}`);
        return 1;
      }
    }
    if ((values.release || values.acquire) && values.session === "") {
      ui.error("Error! Missing -session (required with -acquire and -release)");
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    const modifyIndex = Number(values["modify-index"]);
    const pair = { Key: key, ModifyIndex: modifyIndex, Flags: values.flags, Value: data, Session: values.session };
    const kv = client.kv();
    if (values.cas) {
      let ok: boolean;
      try {
        ok = await kv.cas(pair);
      } catch (err) {
        ui.error(`Error! Did not write to ${key}: ${errorText(err)}`);
        return 1;
      }
      if (!ok && modifyIndex === 0) {
        ui.error(`Error! Did not write to ${key}: CAS performed with index=0 and key already exists.`);
        return 1;
      }
      if (!ok) {
        ui.error(`Error! Did not write to ${key}: CAS failed`);
        return 1;
      }
      ui.info(`Success! Data written to: ${key}`);
      return 0;
    }
    if (values.acquire) {
      let ok: boolean;
      try {
        ok = await kv.acquire(pair);
      } catch (err) {
        ui.error(`Error! Failed writing data: ${errorText(err)}`);
        return 1;
      }
      if (!ok) {
        ui.error("Error! Did not acquire lock");
        return 1;
      }
      ui.info(`Success! Lock acquired on: ${key}`);
      return 0;
    }
    if (values.release) {
      let ok: boolean;
      try {
        ok = await kv.release(pair);
      } catch (err) {
        ui.error(`Error! Failed writing data: ${errorText(err)}`);
        return 1;
      }
      if (!ok) {
        ui.error("Error! Did not release lock");
        return 1;
      }
      ui.info(`Success! Lock released on: ${key}`);
      return 0;
    }
    try {
      await kv.put(pair);
    } catch (err) {
      ui.error(`Error! Failed writing data: ${errorText(err)}`);
      return 1;
    }
    ui.info(`Success! Data written to: ${key}`);
    return 0;
  },
});
