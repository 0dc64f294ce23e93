/** `consulate acl policy create|read|update|delete|list` (Consul's command/acl/policy). */
import type { ACLPolicy, Client } from "../../api/mod.ts";
import { defineCommand } from "../command.ts";
import { loadDataSource } from "../data_source.ts";
import { listFlag, stringFlag } from "../flags.ts";
import type { Ui } from "../io.ts";
import { groupCommand } from "../subcommands.ts";
import { formatPolicy, formatPolicyList, render } from "./format.ts";
import { aclRun, commonFlags } from "./run.ts";

async function rulesText(raw: string, ui: Ui): Promise<string> {
  return new TextDecoder().decode(await loadDataSource(raw, ui.io));
}

async function policyByIdOrName(c: Client, id: string, name: string): Promise<ACLPolicy> {
  if (id !== "") return (await c.acl().policyRead(id))[0];
  return (await c.acl().policyReadByName(name))[0];
}

const byFlags = {
  id: stringFlag("", "The ID of the policy."),
  name: stringFlag("", "The name of the policy."),
};

const create = defineCommand({
  synopsis: "Create an ACL policy",
  help: `
Usage: consulate acl policy create -name NAME [options]

  Create a new policy. Rules are HCL or JSON, given directly, as @file or - (stdin):

      $ consulate acl policy create -name "new-policy" -description "This is an example policy" -rules 'key_prefix "app/" { policy = "write" }'
      $ consulate acl policy create -name "new-policy" -rules @rules.hcl
`,
  flags: {
    ...commonFlags,
    name: stringFlag("", "The new policy's name. This flag is required."),
    description: stringFlag("", "A description of the policy"),
    rules: stringFlag("", "The policy rules. May be prefixed with '@' to indicate that the value is a file path to load the rules from. '-' may also be given to indicate that the rules are available on stdin"),
    "valid-datacenter": listFlag("Datacenter that the policy should be valid within. This flag may be specified multiple times"),
  },
  run: ({ values }, ui) => {
    if (values.name === "") {
      ui.error("Missing require '-name' flag");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Failed to create new policy", async (c) => {
      const p = await c.acl().policyCreate({ Name: values.name, Description: values.description, Rules: await rulesText(values.rules, ui), Datacenters: values["valid-datacenter"] });
      return render(values.format, p, formatPolicy);
    });
  },
});

const read = defineCommand({
  synopsis: "Read an ACL policy",
  help: `
Usage: consulate acl policy read [options] POLICY

  This command will retrieve and print out the details of a single policy.

      $ consulate acl policy read -id fdabbcb5-9de5-4b1a-961f-77214ae88cba
      $ consulate acl policy read -name my-policy
`,
  flags: { ...commonFlags, ...byFlags },
  run: ({ values }, ui) => {
    if (values.id === "" && values.name === "") {
      ui.error("Must specify either the -id or -name parameters");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Error reading policy", async (c) => render(values.format, await policyByIdOrName(c, values.id, values.name), formatPolicy));
  },
});

const update = defineCommand({
  synopsis: "Update an ACL policy",
  help: `
Usage: consulate acl policy update [options]

  Updates a policy. What is not given keeps its value.

      $ consulate acl policy update -id abcd -rules @rules.hcl
`,
  flags: {
    ...commonFlags,
    ...byFlags,
    "new-name": stringFlag("", "New name for the policy"),
    description: stringFlag("", "A description of the policy"),
    rules: stringFlag("", "The policy rules (or @file, or - for stdin)"),
  },
  run: ({ values }, ui) => {
    if (values.id === "" && values.name === "") {
      ui.error("Cannot update a policy without specifying the -id or -name parameter");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Failed to update policy", async (c) => {
      const current = await policyByIdOrName(c, values.id, values.name);
      const p = await c.acl().policyUpdate({
        ID: current.ID,
        Name: values["new-name"] || current.Name,
        Description: values.description || current.Description,
        Rules: values.rules ? await rulesText(values.rules, ui) : current.Rules,
        Datacenters: current.Datacenters,
      });
      return render(values.format, p, formatPolicy);
    });
  },
});

const del = defineCommand({
  synopsis: "Delete an ACL policy",
  help: `
Usage: consulate acl policy delete [options] -id POLICY

  Deletes an ACL policy by providing either the ID or the name.

      $ consulate acl policy delete -name my-policy
`,
  flags: { ...commonFlags, ...byFlags },
  run: ({ values }, ui) => {
    if (values.id === "" && values.name === "") {
      ui.error("Must specify either the -id or -name parameters");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Error deleting policy", async (c) => {
      const p = await policyByIdOrName(c, values.id, values.name);
      await c.acl().policyDelete(p.ID);
      return `Policy "${p.ID}" deleted successfully`;
    });
  },
});

const list = defineCommand({
  synopsis: "Lists ACL policies",
  help: `
Usage: consulate acl policy list [options]

  Lists all the ACL policies.

      $ consulate acl policy list
`,
  flags: commonFlags,
  run: ({ values }, ui) =>
    aclRun(values, ui, "Failed to retrieve the policy list", async (c) => render(values.format, (await c.acl().policyList())[0], formatPolicyList)),
});

export const policyCommand = groupCommand(
  "acl policy",
  "Manage Consul's ACL policies",
  `
  This command has subcommands for managing Consul's ACL policies.

      $ consulate acl policy create -name "my-policy" -rules @rules.hcl
      $ consulate acl policy list
`,
  { create, read, update, delete: del, list },
);
