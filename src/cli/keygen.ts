/** `consulate keygen`: a new gossip encryption key (32 random bytes, base64), as `consul keygen` prints it. */
import { defineCommand } from "./command.ts";
import { encodeBase64 } from "../structs/json.ts";

const help = `
Usage: consulate keygen

  Generates a new encryption key that can be used to configure the
  agent to encrypt traffic. The output of this command is already
  in the proper format that the agent expects.
`;

export const keygenCommand = defineCommand({
  synopsis: "Generates a new encryption key",
  help,
  flags: {},
  async run({ args }, ui) {
    if (args.length > 0) {
      ui.error(`Too many arguments (expected 0, got ${args.length})`);
      return 1;
    }
    const key = new Uint8Array(32);
    crypto.getRandomValues(key);
    ui.output(encodeBase64(key));
    return 0;
  },
});
