/** `consulate tls ...`: the agent CA and agent certificates (Consul's command/tls). */
import { groupCommand } from "../subcommands.ts";
import { tlsCaCreateCommand } from "./ca_create.ts";
import { tlsCertCreateCommand } from "./cert_create.ts";

export { tlsCaCreateCommand, tlsCertCreateCommand };

const caCommand = groupCommand(
  "tls ca",
  "Helpers for CAs",
  `
  This command has subcommands for interacting with Certificate Authorities.

  Here are some simple examples, and more detailed examples are available
  in the subcommands or the documentation.

  Create a CA

    $ consulate tls ca create
`,
  { create: tlsCaCreateCommand },
);

const certCommand = groupCommand(
  "tls cert",
  "Helpers for certificates",
  `
  This command has subcommands for interacting with certificates

  Here are some simple examples, and more detailed examples are available
  in the subcommands or the documentation.

  Create a certificate

    $ consulate tls cert create -server

  Create a certificate with your own CA:

    $ consulate tls cert create -server -ca my-ca.pem -key my-ca-key.pem
`,
  { create: tlsCertCreateCommand },
);

export const tlsCommand = groupCommand(
  "tls",
  "Builtin helpers for creating CAs and certificates",
  `
  This command has subcommands for interacting with Consul TLS.

  Here are some simple examples, and more detailed examples are available
  in the subcommands or the documentation.

  Create a CA

    $ consulate tls ca create

  Create a server certificate

    $ consulate tls cert create -server

  Create a client certificate

    $ consulate tls cert create -client
`,
  { ca: caCommand, cert: certCommand },
);
