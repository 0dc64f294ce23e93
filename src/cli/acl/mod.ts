/** `consulate acl ...` */
import { defineCommand } from "../command.ts";
import { groupCommand } from "../subcommands.ts";
import { formatToken, render } from "./format.ts";
import { authMethodCommand } from "./auth_method.ts";
import { bindingRuleCommand } from "./binding_rule.ts";
import { policyCommand } from "./policy.ts";
import { roleCommand } from "./role.ts";
import { aclRun, commonFlags } from "./run.ts";
import { tokenCommand } from "./token.ts";
import { clientFlags } from "../http_flags.ts";

const bootstrap = defineCommand({
  synopsis: "Bootstrap Consul's ACL system",
  help: `
Usage: consulate acl bootstrap [options]

  The bootstrap command will request Consul to generate a new token with unlimited privileges to use
  for management purposes and output its details. This can only be done once and afterwards bootstrapping
  will be disabled. If all tokens are lost and you need to bootstrap again you can follow the bootstrap
  reset procedure
`,
  flags: commonFlags,
  run: ({ values }, ui) => aclRun(values, ui, "Failed ACL bootstrapping", async (c) => render(values.format, await c.acl().bootstrap(), formatToken)),
});

const setAgentToken = defineCommand({
  synopsis: "Assign tokens for the Consul Agent's usage",
  help: `
Usage: consulate acl set-agent-token [options] TYPE TOKEN

  This command will set the corresponding token for the agent to use. If token
  persistence is not enabled, then tokens uploaded this way are not persisted
  and if the agent reloads then the tokens will need to be set again.

  Token Types:

    default                           The default token is the token that the agent will use for
                                      both internal agent operations and operations initiated by
                                      the HTTP and DNS interfaces when no specific token is provided.
    agent                             The token that the agent will use for internal agent operations.
    agent_recovery                    This sets the token that can be used to access the Agent APIs in
                                      the event that the ACL datacenter cannot be reached.
    replication                       The token used for replication.
    dns                               The token the DNS interface uses.
    config_file_service_registration  The token used to register services and checks from config files.

      $ consulate acl set-agent-token default c4d0f8df-3aba-4ab6-a7a0-35b760dc29a1
`,
  flags: clientFlags,
  run: ({ values, args }, ui) => {
    if (args.length !== 2) {
      ui.error("Missing TYPE and TOKEN arguments");
      return Promise.resolve(1);
    }
    const [type, token] = args as [string, string];
    return aclRun(values, ui, "Failed to set ACL token", async (c) => {
      await c.acl().setAgentToken(type, token);
      return `ACL token "${type}" set successfully`;
    });
  },
});

export const aclCommand = groupCommand(
  "acl",
  "Interact with Consul's ACLs",
  `
  This command has subcommands for interacting with Consul's ACLs.

  Bootstrap ACLs:

      $ consulate acl bootstrap

  List all ACL tokens:

      $ consulate acl token list

  Create a new ACL policy:

      $ consulate acl policy create -name "new-policy" -rules @rules.hcl

  Set the default agent token:

      $ consulate acl set-agent-token default 0bc6bc46-f25e-4262-b2d9-ffbe1d96be6f
`,
  {
    bootstrap,
    token: tokenCommand,
    policy: policyCommand,
    role: roleCommand,
    "auth-method": authMethodCommand,
    "binding-rule": bindingRuleCommand,
    "set-agent-token": setAgentToken,
  },
);
