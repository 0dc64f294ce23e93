/**
 * The HTTP flags Consul's commands share (`command/flags/http.go`) and the
 * client they build. Flags win over the environment, which wins over the
 * default address 127.0.0.1:8500.
 */
import { Client, type ClientOptions, type TlsConfig, tlsConfigFromEnv } from "../api/mod.ts";
import { boolFlag, parseBool, stringFlag, type Flag } from "./flags.ts";
import { errorText } from "./command.ts";
import type { CliIo, Ui } from "./io.ts";

export const HTTP_ADDR_ENV = "CONSUL_HTTP_ADDR";
export const HTTP_TOKEN_ENV = "CONSUL_HTTP_TOKEN";
export const HTTP_TOKEN_FILE_ENV = "CONSUL_HTTP_TOKEN_FILE";
export const HTTP_SSL_ENV = "CONSUL_HTTP_SSL";

export const clientFlags = {
  "http-addr": stringFlag(
    "",
    "The address and port of the Consul HTTP agent. The value can be an IP address or DNS address, but it must also include the port. This can also be specified via the CONSUL_HTTP_ADDR environment variable. The default value is http://127.0.0.1:8500. The scheme can also be set to HTTPS by setting the environment variable CONSUL_HTTP_SSL=true.",
    { placeholder: "address", group: "http" },
  ),
  token: stringFlag(
    "",
    "ACL token to use in the request. This can also be specified via the CONSUL_HTTP_TOKEN environment variable. If unspecified, the query will default to the token of the Consul agent at the HTTP address.",
    { placeholder: "value", group: "http" },
  ),
  "token-file": stringFlag(
    "",
    "File containing the ACL token to use in the request instead of one specified via the -token argument or CONSUL_HTTP_TOKEN environment variable. This can also be specified via the CONSUL_HTTP_TOKEN_FILE environment variable.",
    { placeholder: "value", group: "http" },
  ),
  "ca-file": stringFlag("", "Path to a CA file to use for TLS when communicating with Consul. This can also be specified via the CONSUL_CACERT environment variable.", {
    placeholder: "value",
    group: "http",
  }),
  "ca-path": stringFlag("", "Path to a directory of CA certificates to use for TLS when communicating with Consul. This can also be specified via the CONSUL_CAPATH environment variable.", {
    placeholder: "value",
    group: "http",
  }),
  "client-cert": stringFlag("", "Path to a client cert file to use for TLS when 'verify_incoming' is enabled. This can also be specified via the CONSUL_CLIENT_CERT environment variable.", {
    placeholder: "value",
    group: "http",
  }),
  "client-key": stringFlag("", "Path to a client key file to use for TLS when 'verify_incoming' is enabled. This can also be specified via the CONSUL_CLIENT_KEY environment variable.", {
    placeholder: "value",
    group: "http",
  }),
  "tls-server-name": stringFlag("", "The server name to use as the SNI host when connecting via TLS. This can also be specified via the CONSUL_TLS_SERVER_NAME environment variable.", {
    placeholder: "value",
    group: "http",
  }),
} as const satisfies Record<string, Flag<string>>;

export const serverFlags = {
  datacenter: stringFlag("", "Name of the datacenter to query. If unspecified, this will default to the datacenter of the queried agent.", {
    placeholder: "name",
    group: "http",
  }),
  stale: boolFlag(
    false,
    "Permit any Consul server (non-leader) to respond to this request. This allows for lower latency and higher throughput, but can result in stale data. This option has no effect on non-read operations. The default value is false.",
    { group: "http" },
  ),
} as const;

export interface HttpFlagValues {
  readonly "http-addr": string;
  readonly token: string;
  readonly "token-file": string;
  readonly "ca-file"?: string;
  readonly "ca-path"?: string;
  readonly "client-cert"?: string;
  readonly "client-key"?: string;
  readonly "tls-server-name"?: string;
  readonly datacenter?: string;
}

/** Builds the API client; throws (for "Error connecting to Consul agent: ...") when the options are unusable. */
export async function apiClient(values: HttpFlagValues, io: CliIo): Promise<Client> {
  const options: { -readonly [K in keyof ClientOptions]: ClientOptions[K] } = {};
  const address = values["http-addr"] || io.env(HTTP_ADDR_ENV) || "";
  if (address) options.address = address;
  const ssl = io.env(HTTP_SSL_ENV);
  if (ssl && parseBool(ssl) === true) options.https = true;
  let token = values.token || io.env(HTTP_TOKEN_ENV) || "";
  const tokenFile = values["token-file"] || io.env(HTTP_TOKEN_FILE_ENV) || "";
  if (tokenFile) {
    let text: string;
    try {
      text = new TextDecoder().decode(await io.readFile(tokenFile));
    } catch (err) {
      throw new Error(`Error loading token file: ${(err as Error).message}`, { cause: err });
    }
    if (text.trim() !== "") token = text.trim();
  }
  if (token) options.token = token;
  if (values.datacenter) options.datacenter = values.datacenter;
  // Flags win over CONSUL_CACERT and friends, field by field.
  const tls: { -readonly [K in keyof TlsConfig]: TlsConfig[K] } = tlsConfigFromEnv((name) => io.env(name));
  if (values["ca-file"]) tls.caFile = values["ca-file"];
  if (values["ca-path"]) tls.caPath = values["ca-path"];
  if (values["client-cert"]) tls.certFile = values["client-cert"];
  if (values["client-key"]) tls.keyFile = values["client-key"];
  if (values["tls-server-name"]) tls.serverName = values["tls-server-name"];
  if (Object.keys(tls).length > 0) options.tls = tls;
  return new Client(options);
}

/**
 * The client for a command, or null after printing Consul's
 * "Error connecting to Consul agent" (the command then exits 1).
 */
export async function connectAgent(values: HttpFlagValues, ui: Ui): Promise<Client | null> {
  try {
    return await apiClient(values, ui.io);
  } catch (err) {
    ui.error(`Error connecting to Consul agent: ${errorText(err)}`);
    return null;
  }
}
