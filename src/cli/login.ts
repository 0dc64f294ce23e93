/** `consulate login` and `consulate logout` (Consul's command/login and command/logout). */
import { defineCommand } from "./command.ts";
import { clientFlags, connectAgent } from "./http_flags.ts";
import { mapFlag, stringFlag } from "./flags.ts";
import { errorText } from "./command.ts";

export const loginCommand = defineCommand({
  synopsis: "Login to Consul using an auth method",
  help: `
Usage: consulate login [options]

  The login command will exchange the provided third party credentials with the
  requested auth method for a newly minted Consul ACL token. The companion
  command 'consulate logout' should be used to destroy any tokens created this way
  to avoid a resource leak.
`,
  flags: {
    ...clientFlags,
    method: stringFlag("", "Name of the auth method to login to."),
    type: stringFlag("", "Type of the auth method to login to. This field is optional and defaults to no type."),
    "bearer-token-file": stringFlag("", "Path to a file containing a secret bearer token to use with this auth method."),
    "token-sink-file": stringFlag("", "The most recent token's SecretID is kept up to date in this file."),
    meta: mapFlag("Metadata to set on the token, formatted as key=value. This flag may be specified multiple times to set multiple meta fields."),
  },
  run: async ({ values, args }, ui) => {
    if (args.length > 0) {
      ui.error("Should have no non-flag arguments.");
      return 1;
    }
    if (values.method === "") {
      ui.error("Missing required '-method' flag");
      return 1;
    }
    if (values["token-sink-file"] === "") {
      ui.error("Missing required '-token-sink-file' flag");
      return 1;
    }
    if (values["bearer-token-file"] === "") {
      ui.error("Missing required '-bearer-token-file' flag");
      return 1;
    }
    let bearer: string;
    try {
      bearer = new TextDecoder().decode(await ui.io.readFile(values["bearer-token-file"])).trim();
    } catch (err) {
      ui.error(errorText(err));
      return 1;
    }
    if (bearer === "") {
      ui.error(`No bearer token found in ${values["bearer-token-file"]}`);
      return 1;
    }
    // Login acts with no token of its own.
    const client = await connectAgent({ ...values, token: "", "token-file": "" }, ui);
    if (!client) return 1;
    let secret: string;
    try {
      secret = (await client.acl().login({ AuthMethod: values.method, BearerToken: bearer, Meta: values.meta }, { token: "" })).SecretID;
    } catch (err) {
      ui.error(`Error logging in: ${errorText(err)}`);
      return 1;
    }
    try {
      const sink = values["token-sink-file"];
      await ui.io.writeFile(`${sink}.tmp`, new TextEncoder().encode(secret));
      await ui.io.rename(`${sink}.tmp`, sink);
    } catch (err) {
      ui.error(`Error writing token to file sink: ${errorText(err)}`);
      return 1;
    }
    return 0;
  },
});

export const logoutCommand = defineCommand({
  synopsis: "Destroy a Consul token created with login",
  help: `
Usage: consulate logout [options]

  The logout command will destroy the provided token if it was created from
  'consulate login'.
`,
  flags: clientFlags,
  run: async ({ values, args }, ui) => {
    if (args.length > 0) {
      ui.error("Should have no non-flag arguments.");
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      await client.acl().logout();
    } catch (err) {
      ui.error(`Error destroying token: ${errorText(err)}`);
      return 1;
    }
    return 0;
  },
});
