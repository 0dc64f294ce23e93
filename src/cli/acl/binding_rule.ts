/** `consulate acl binding-rule create|read|update|delete|list` (Consul's command/acl/bindingrule). */
import { defineCommand } from "../command.ts";
import { stringFlag } from "../flags.ts";
import { groupCommand } from "../subcommands.ts";
import { formatBindingRule, formatBindingRuleList, render } from "./format.ts";
import { aclRun, commonFlags } from "./run.ts";

const fields = {
  description: stringFlag("", "A description of the binding rule."),
  selector: stringFlag("", "Selector is an expression that matches against verified identity attributes returned from the auth method during login."),
  "bind-type": stringFlag("", "Type of binding to perform (\"service\", \"node\", \"role\" or \"policy\")."),
  "bind-name": stringFlag("", "Name to bind on match. Can use ${var} interpolation. This flag is required."),
};
const idFlag = { id: stringFlag("", "The ID of the binding rule.") };

const create = defineCommand({
  synopsis: "Create an ACL binding rule",
  help: `
Usage: consulate acl binding-rule create -method NAME -bind-type TYPE -bind-name NAME [options]

      $ consulate acl binding-rule create -method=my-jwt -bind-type=service -bind-name='k8s-\${value.name}' -selector='value.namespace==default'
`,
  flags: { ...commonFlags, method: stringFlag("", "The auth method's name for which this binding rule applies. This flag is required."), ...fields },
  run: ({ values }, ui) => {
    if (values.method === "") {
      ui.error("Missing required '-method' flag");
      return Promise.resolve(1);
    }
    if (values["bind-type"] === "") {
      ui.error("Missing required '-bind-type' flag");
      return Promise.resolve(1);
    }
    if (values["bind-name"] === "") {
      ui.error("Missing required '-bind-name' flag");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Failed to create new binding rule", async (c) => {
      const r = await c.acl().bindingRuleCreate({
        AuthMethod: values.method,
        Description: values.description,
        Selector: values.selector,
        BindType: values["bind-type"],
        BindName: values["bind-name"],
      });
      return render(values.format, r, formatBindingRule);
    });
  },
});

const update = defineCommand({
  synopsis: "Update an ACL binding rule",
  help: `
Usage: consulate acl binding-rule update -id ID [options]

  Fields given replace the stored ones; the others are kept.
`,
  flags: { ...commonFlags, ...idFlag, ...fields },
  run: ({ values }, ui) => {
    if (values.id === "") {
      ui.error("Cannot update a binding rule without specifying the -id parameter");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Error updating binding rule", async (c) => {
      const [cur] = await c.acl().bindingRuleRead(values.id);
      const r = await c.acl().bindingRuleUpdate({
        ID: cur.ID,
        AuthMethod: cur.AuthMethod,
        Description: values.description || cur.Description,
        Selector: values.selector || cur.Selector,
        BindType: values["bind-type"] || cur.BindType,
        BindName: values["bind-name"] || cur.BindName,
      });
      return render(values.format, r, formatBindingRule);
    });
  },
});

const read = defineCommand({
  synopsis: "Read an ACL binding rule",
  help: `
Usage: consulate acl binding-rule read -id ID [options]
`,
  flags: { ...commonFlags, ...idFlag },
  run: ({ values }, ui) => {
    if (values.id === "") {
      ui.error("Must specify the -id parameter");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Error reading binding rule", async (c) => render(values.format, (await c.acl().bindingRuleRead(values.id))[0], formatBindingRule));
  },
});

const del = defineCommand({
  synopsis: "Delete an ACL binding rule",
  help: `
Usage: consulate acl binding-rule delete -id ID [options]
`,
  flags: { ...commonFlags, ...idFlag },
  run: ({ values }, ui) => {
    if (values.id === "") {
      ui.error("Must specify the -id parameter");
      return Promise.resolve(1);
    }
    return aclRun(values, ui, "Error deleting binding rule", async (c) => {
      await c.acl().bindingRuleDelete(values.id);
      return `Binding rule "${values.id}" deleted successfully`;
    });
  },
});

const list = defineCommand({
  synopsis: "Lists ACL binding rules",
  help: `
Usage: consulate acl binding-rule list [options]

      $ consulate acl binding-rule list -method=my-jwt
`,
  flags: { ...commonFlags, method: stringFlag("", "Only show rules linked to the auth method with the given name.") },
  run: ({ values }, ui) =>
    aclRun(values, ui, "Failed to retrieve the binding rule list", async (c) => render(values.format, (await c.acl().bindingRuleList(values.method))[0], formatBindingRuleList)),
});

export const bindingRuleCommand = groupCommand(
  "acl binding-rule",
  "Manage Consul's ACL binding rules",
  `
  This command has subcommands for managing Consul's ACL binding rules.

      $ consulate acl binding-rule create -method=my-jwt -bind-type=service -bind-name='\${value.name}'
      $ consulate acl binding-rule list -method=my-jwt
`,
  { create, update, read, delete: del, list },
);
