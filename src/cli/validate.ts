/**
 * `consulate validate [-config-format=json|hcl] [-quiet] FILE_OR_DIRECTORY...`:
 * loads the files as the agent would (a directory's *.json and *.hcl in name
 * order) and checks them, as `consul validate` does, without starting anything.
 */
import { stat } from "node:fs/promises";
import { defaultConfig } from "../agent/config.ts";
import { ConfigError } from "../agent/config_error.ts";
import { loadConfigDir, loadConfigFile } from "../agent/config_load.ts";
import { validateConfig } from "../agent/config_validate.ts";
import { defineCommand, errorText } from "./command.ts";
import { boolFlag, stringFlag } from "./flags.ts";

const help = `
Usage: consulate validate [options] FILE_OR_DIRECTORY...

  Performs a basic sanity test on Consul configuration files. For each file
  or directory given, the validate command will attempt to parse the contents
  just as the "consul agent" command would, and catch any errors.

  This is useful to do a test of the configuration only, without actually
  starting the agent. This performs all of the validation the agent would, so
  this should be given the complete set of configuration files that are going
  to be loaded by the agent. This command cannot operate on partial
  configuration fragments since those won't pass the full agent validation.

  Returns 0 if the configuration is valid, or 1 if there are problems.

    $ consulate validate /etc/consul.d
`;

export const validateCommand = defineCommand({
  synopsis: "Validate config files/directories",
  help,
  flags: {
    "config-format": stringFlag("", "Config files are in this format irrespective of their extension. Must be 'hcl' or 'json'"),
    quiet: boolFlag(false, "When given, a successful run will produce no output."),
  },
  async run({ values, args }, ui) {
    if (args.length < 1) {
      ui.error("Must specify at least one config file or directory");
      return 1;
    }
    const format = values["config-format"];
    if (format !== "" && format !== "hcl" && format !== "json") {
      ui.error(`Config validation failed: -config-format must be either 'hcl' or 'json'`);
      return 1;
    }
    const cfg = defaultConfig();
    try {
      for (const path of args) {
        const isDir = await stat(path).then(
          (s) => s.isDirectory(),
          (err: unknown) => {
            throw new ConfigError(`Error reading config file "${path}": ${(err as Error).message}`);
          },
        );
        if (isDir) await loadConfigDir(cfg, path);
        else await loadConfigFile(cfg, path, format === "" ? undefined : format);
      }
      validateConfig(cfg);
    } catch (err) {
      ui.error(`Config validation failed: ${errorText(err)}`);
      return 1;
    }
    if (!values.quiet) ui.output("Configuration is valid!");
    return 0;
  },
});
