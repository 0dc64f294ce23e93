/** `consulate acl auth-method create|read|update|delete|list` (Consul's command/acl/authmethod). */
import { defineCommand } from "../command.ts";
import { loadDataSource } from "../data_source.ts";
import { stringFlag } from "../flags.ts";
import type { Ui } from "../io.ts";
import { groupCommand } from "../subcommands.ts";
import { formatAuthMethod, formatAuthMethodList, render } from "./format.ts";
import { aclRun, commonFlags } from "./run.ts";

async function configOf(raw: string, ui: Ui): Promise<Record<string, unknown> | undefined> {
  if (raw === "") return undefined;
  const text = new TextDecoder().decode(await loadDataSource(raw, ui.io));
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`Failed to decode config: ${(err as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("Failed to decode config: must be a JSON object");
  return v as Record<string, unknown>;
}

const nameFlag = { name: stringFlag("", "The name of the auth method.") };
const fields = {
  "display-name": stringFlag("", "An optional name to use instead of the name field when displaying information about this auth method."),
  description: stringFlag("", "A description of the auth method."),
  "max-token-ttl": stringFlag("", "Duration of time all tokens created by this auth method should be valid for"),
  "token-locality": stringFlag("", "Defines the kind of token that this auth method should produce. This can be either 'local' or 'global'. If empty the value of 'local' is assumed."),
  config: stringFlag("", "The configuration for the auth method. Must be JSON. May be prefixed with '@' to indicate that the value is a file path to load the config from. '-' may also be given to indicate that the config is available on stdin"),
};

const create = defineCommand({
  synopsis: "Create an ACL auth method",
  help: `
Usage: consulate acl auth-method create -name NAME -type TYPE [options]

  Create a new auth method of type jwt:

      $ consulate acl auth-method create -type "jwt" -name "my-jwt" -config @jwt-config.json
`,
  flags: { ...commonFlags, ...nameFlag, type: stringFlag("", "The new auth method's type. This flag is required."), ...fields },
  run: ({ values }, ui) => {
    if (values.type === "") {
      ui.error("Missing required '-type' flag");
      return Promise.resolve(1);
    }
    if (values.name === "") {
      ui.error("Missing required '-name' flag");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Failed to create new auth method", async (c) => {
      const config = await configOf(values.config, ui);
      const m = await c.acl().authMethodCreate({
        Name: values.name,
        Type: values.type,
        DisplayName: values["display-name"],
        Description: values.description,
        ...(values["max-token-ttl"] ? { MaxTokenTTL: values["max-token-ttl"] } : {}),
        TokenLocality: values["token-locality"],
        ...(config ? { Config: config } : {}),
      });
      return render(values.format, m, formatAuthMethod);
    });
  },
});

const update = defineCommand({
  synopsis: "Update an ACL auth method",
  help: `
Usage: consulate acl auth-method update -name NAME [options]

  Fields given replace the stored ones; the others are kept.

      $ consulate acl auth-method update -name "my-jwt" -description "new description"
`,
  flags: { ...commonFlags, ...nameFlag, ...fields },
  run: ({ values }, ui) => {
    if (values.name === "") {
      ui.error("Cannot update an auth method without specifying the -name parameter");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Error updating auth method", async (c) => {
      const [cur] = await c.acl().authMethodRead(values.name);
      const config = await configOf(values.config, ui);
      const m = await c.acl().authMethodUpdate({
        Name: cur.Name,
        Type: cur.Type,
        DisplayName: values["display-name"] || cur.DisplayName || "",
        Description: values.description || cur.Description,
        MaxTokenTTL: values["max-token-ttl"] || cur.MaxTokenTTL || "",
        TokenLocality: values["token-locality"] || cur.TokenLocality || "",
        Config: config ?? cur.Config,
      });
      return render(values.format, m, formatAuthMethod);
    });
  },
});

const read = defineCommand({
  synopsis: "Read an ACL auth method",
  help: `
Usage: consulate acl auth-method read -name NAME [options]

      $ consulate acl auth-method read -name my-jwt
`,
  flags: { ...commonFlags, ...nameFlag },
  run: ({ values }, ui) => {
    if (values.name === "") {
      ui.error("Must specify the -name parameter");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Error reading auth method", async (c) => render(values.format, (await c.acl().authMethodRead(values.name))[0], formatAuthMethod));
  },
});

const del = defineCommand({
  synopsis: "Delete an ACL auth method",
  help: `
Usage: consulate acl auth-method delete -name NAME [options]

      $ consulate acl auth-method delete -name "my-jwt"
`,
  flags: { ...commonFlags, ...nameFlag },
  run: ({ values }, ui) => {
    if (values.name === "") {
      ui.error("Must specify the -name parameter");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Error deleting auth method", async (c) => {
      await c.acl().authMethodDelete(values.name);
      return `Auth-method "${values.name}" deleted successfully`;
    });
  },
});

const list = defineCommand({
  synopsis: "Lists ACL auth methods",
  help: `
Usage: consulate acl auth-method list [options]

      $ consulate acl auth-method list
`,
  flags: commonFlags,
  run: ({ values }, ui) =>
    aclRun(values, ui, "Failed to retrieve the auth method list", async (c) => {
      const [methods] = await c.acl().authMethodList();
      return values.format !== "json" && methods.length === 0 ? null : render(values.format, methods, formatAuthMethodList);
    }),
});

export const authMethodCommand = groupCommand(
  "acl auth-method",
  "Manage Consul's ACL auth methods",
  `
  This command has subcommands for managing Consul's ACL auth methods.

      $ consulate acl auth-method create -type jwt -name my-jwt -config @config.json
      $ consulate acl auth-method list
      $ consulate acl auth-method read -name my-jwt
      $ consulate acl auth-method delete -name my-jwt
`,
  { create, update, read, delete: del, list },
);
