/** `consulate tls ca create`: a new agent CA, saved as <domain>-agent-ca.pem and <domain>-agent-ca-key.pem. */
import { boolFlag, intFlag, stringFlag } from "../flags.ts";
import { defineCommand, errorText } from "../command.ts";
import { listFlag } from "../services/register.ts";
import { generateCa } from "../../tls/mod.ts";
import { fileExists, savePair } from "./files.ts";

const help = `
Usage: consulate tls ca create [options]

  Create a new consul CA:

  $ consulate tls ca create
  ==> Saved consul-agent-ca.pem
  ==> Saved consul-agent-ca-key.pem
`;

export const tlsCaCreateCommand = defineCommand({
  synopsis: "Create a new consul CA",
  help,
  flags: {
    days: intFlag(1825, "Number of days the CA is valid for. Defaults to 1825 days (approximately 5 years)."),
    "name-constraint": boolFlag(
      false,
      "Enables X.509 name constraints for the CA. If used, the CA only signs certificates for localhost and the domains specified by -domain and -additional-name-constraint. If Consul's UI is served over HTTPS in your deployment, add its DNS name with -additional-constraint. Defaults to false.",
    ),
    domain: stringFlag("consul", "The DNS domain of the Consul cluster that agents are configured with. Defaults to consul. Only used when -name-constraint is set. Additional domains can be passed with -additional-name-constraint."),
    "cluster-id": stringFlag("", "ID of the Consul cluster. Sets the CA's URI with the SPIFFEID composed of the cluster ID and domain (specified by -domain or 'consul' by default)."),
    "common-name": stringFlag("", "Common Name of CA. Defaults to Consul Agent CA."),
    "additional-name-constraint": listFlag("Add name constraints for the CA. Results in rejecting certificates for other DNS than specified. Can be used multiple times. Only used in combination with -name-constraint."),
  },
  async run({ values: f, args }, ui) {
    if (args.length > 0) {
      ui.error(`Too many arguments (expected 0, got ${args.length})`);
      return 1;
    }
    const certFile = `${f.domain}-agent-ca.pem`;
    const keyFile = `${f.domain}-agent-ca-key.pem`;
    for (const file of [certFile, keyFile]) {
      if (await fileExists(ui.io, file)) {
        ui.error(`${file} already exists.`);
        return 1;
      }
    }
    const constraints = f["name-constraint"] ? [...f["additional-name-constraint"], f.domain, "localhost"] : [];
    try {
      const ca = await generateCa({ days: f.days, commonName: f["common-name"], permittedDnsDomains: constraints, clusterId: f["cluster-id"], domain: f.domain });
      await savePair(ui, certFile, keyFile, ca);
    } catch (err) {
      ui.error(errorText(err));
      return 1;
    }
    return 0;
  },
});
