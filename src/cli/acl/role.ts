/** `consulate acl role create|read|delete|list` (Consul's command/acl/role). */
import type { ACLRole, Client } from "../../api/mod.ts";
import { defineCommand } from "../command.ts";
import { listFlag, stringFlag } from "../flags.ts";
import { groupCommand } from "../subcommands.ts";
import { formatRole, formatRoleList, parseNodeIdentity, parseServiceIdentity, render } from "./format.ts";
import { aclRun, commonFlags } from "./run.ts";

async function roleByIdOrName(c: Client, id: string, name: string): Promise<ACLRole> {
  if (id !== "") return (await c.acl().roleRead(id))[0];
  return (await c.acl().roleReadByName(name))[0];
}

const byFlags = { id: stringFlag("", "The ID of the role."), name: stringFlag("", "The name of the role.") };

const create = defineCommand({
  synopsis: "Create an ACL role",
  help: `
Usage: consulate acl role create -name NAME [options]

  Create a new role:

      $ consulate acl role create -name "new-role" -description "This is an example role" -policy-name "acl-replication"
`,
  flags: {
    ...commonFlags,
    name: stringFlag("", "The new role's name. This flag is required."),
    description: stringFlag("", "A description of the role"),
    "policy-id": listFlag("ID of a policy to use for this role. May be specified multiple times."),
    "policy-name": listFlag("Name of a policy to use for this role. May be specified multiple times."),
    "service-identity": listFlag("Name of a service identity to use for this role, optionally followed by ':' and datacenters. May be specified multiple times."),
    "node-identity": listFlag("Name of a node identity to use for this role, followed by ':' and its datacenter. May be specified multiple times."),
  },
  run: ({ values }, ui) => {
    if (values.name === "") {
      ui.error("Missing required '-name' flag");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Failed to create new role", async (c) => {
      const r = await c.acl().roleCreate({
        Name: values.name,
        Description: values.description,
        Policies: [...values["policy-id"].map((ID) => ({ ID })), ...values["policy-name"].map((Name) => ({ Name }))],
        ServiceIdentities: values["service-identity"].map(parseServiceIdentity),
        NodeIdentities: values["node-identity"].map(parseNodeIdentity),
      });
      return render(values.format, r, formatRole);
    });
  },
});

const read = defineCommand({
  synopsis: "Read an ACL role",
  help: `
Usage: consulate acl role read [options] ROLE

      $ consulate acl role read -name my-role
`,
  flags: { ...commonFlags, ...byFlags },
  run: ({ values }, ui) => {
    if (values.id === "" && values.name === "") {
      ui.error("Must specify either the -id or -name parameters");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Error reading role", async (c) => render(values.format, await roleByIdOrName(c, values.id, values.name), formatRole));
  },
});

const del = defineCommand({
  synopsis: "Delete an ACL role",
  help: `
Usage: consulate acl role delete [options] -id ROLE

      $ consulate acl role delete -name my-role
`,
  flags: { ...commonFlags, ...byFlags },
  run: ({ values }, ui) => {
    if (values.id === "" && values.name === "") {
      ui.error("Must specify either the -id or -name parameters");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Error deleting role", async (c) => {
      const r = await roleByIdOrName(c, values.id, values.name);
      await c.acl().roleDelete(r.ID);
      return `Role "${r.ID}" deleted successfully`;
    });
  },
});

const list = defineCommand({
  synopsis: "Lists ACL roles",
  help: `
Usage: consulate acl role list [options]

      $ consulate acl role list
`,
  flags: commonFlags,
  run: ({ values }, ui) => aclRun(values, ui, "Failed to retrieve the role list", async (c) => render(values.format, (await c.acl().roleList())[0], formatRoleList)),
});

export const roleCommand = groupCommand(
  "acl role",
  "Manage Consul's ACL roles",
  `
  This command has subcommands for managing Consul's ACL roles.

      $ consulate acl role create -name "my-role" -policy-name "my-policy"
      $ consulate acl role list
`,
  { create, read, delete: del, list },
);
