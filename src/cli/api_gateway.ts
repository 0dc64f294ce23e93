/**
 * `consulate api-gateway bundle -gateway <name> -target workerd -out <dir>`:
 * writes the API gateway's fetch handler as one ES module (worker.mjs, no
 * Node built-in in it) and a workerd config (config.capnp) that runs it:
 * a socket for the listener (HTTPS with the listener's inline-certificate),
 * the agent's HTTP API as the `CONSUL` service, and the datacenter's edge
 * relay as the `RELAY` service, dialled over TLS with the gateway's leaf as
 * client certificate and the relay's certificate checked against
 * `-relay-host`. Run it with `npx workerd serve <dir>/config.capnp`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defineCommand, errorText } from "./command.ts";
import { stringFlag } from "./flags.ts";
import { clientFlags, connectAgent } from "./http_flags.ts";
import { groupCommand } from "./subcommands.ts";

interface Listener {
  Name?: string;
  Protocol?: string;
  TLS?: { Certificates?: { Kind?: string; Name?: string }[] };
}

/** A Cap'n Proto text literal (JSON's escapes are a subset of capnp's for ASCII text). */
const text = (s: string): string => JSON.stringify(s);

export interface WorkerdConfigInput {
  readonly listen: string;
  readonly consulAddress: string;
  readonly relayAddress: string;
  readonly relayHost: string;
  readonly relayTrusted: readonly string[];
  readonly leafCertPem: string;
  readonly leafKeyPem: string;
  readonly serverCert: { certPem: string; keyPem: string } | null;
  readonly settings: Record<string, string>;
}

export function workerdConfig(c: WorkerdConfigInput): string {
  const socket = c.serverCert
    ? `https = (options = (), tlsOptions = (keypair = (privateKey = ${text(c.serverCert.keyPem)}, certificateChain = ${text(c.serverCert.certPem)})))`
    : "http = ()";
  return `# Written by consulate api-gateway bundle. Run: workerd serve config.capnp
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "gateway", worker = .gatewayWorker),
    (name = "consul", external = (address = ${text(c.consulAddress)}, http = ())),
    (name = "relay", external = (
      address = ${text(c.relayAddress)},
      https = (
        options = (),
        tlsOptions = (
          keypair = (privateKey = ${text(c.leafKeyPem)}, certificateChain = ${text(c.leafCertPem)}),
          trustedCertificates = [${c.relayTrusted.map(text).join(", ")}],
        ),
        certificateHost = ${text(c.relayHost)},
      ),
    )),
  ],
  sockets = [(name = "listener", address = ${text(c.listen)}, ${socket}, service = "gateway")],
);

const gatewayWorker :Workerd.Worker = (
  modules = [(name = "worker.mjs", esModule = embed "worker.mjs")],
  compatibilityDate = "2024-09-23",
  bindings = [
    (name = "CONSUL", service = "consul"),
    (name = "RELAY", service = "relay"),
    (name = "CONFIG", text = ${text(JSON.stringify(c.settings))}),
  ],
);
`;
}

/** The edge module: gateways/api/edge.ts bundled by esbuild (a dev dependency, present in a source checkout). */
async function bundleWorker(): Promise<string> {
  const esbuild = (await import("esbuild")) as typeof import("esbuild");
  const entry = new URL("../../gateways/api/edge.ts", import.meta.url).pathname;
  const out = await esbuild.build({ entryPoints: [entry], bundle: true, format: "esm", platform: "neutral", target: "es2022", write: false, logLevel: "silent", minify: false });
  return out.outputFiles[0]!.text;
}

export const apiGatewayBundleCommand = defineCommand({
  synopsis: "Writes an API gateway bundle for an edge runtime",
  help: `
Usage: consulate api-gateway bundle -gateway <name> -target workerd -out <dir> -relay <host:port> -relay-host <dns name> -relay-certificate <inline-certificate>

  Writes the API gateway's request handler as an ES module plus a workerd
  config that runs it. At the edge it reads its routes from this agent's
  HTTP API (blocking queries, with this command's token) and forwards to
  the datacenter's edge relay (a gateway started with -edge-bind) with the
  gateway's identity.
`,
  flags: {
    ...clientFlags,
    gateway: stringFlag("", "The api-gateway config entry (and service) name."),
    target: stringFlag("workerd", 'The edge runtime; only "workerd".'),
    out: stringFlag("", "The directory to write worker.mjs and config.capnp to."),
    listener: stringFlag("", "The http listener to serve (default: the entry's first http listener)."),
    listen: stringFlag("127.0.0.1:8080", "The address the edge listens on."),
    relay: stringFlag("", "host:port of the gateway's edge relay (-edge-bind)."),
    "relay-host": stringFlag("", "The DNS name on the relay's certificate (workerd verifies it)."),
    "relay-certificate": stringFlag("", "The inline-certificate entry the relay presents; its certificate is what the edge trusts."),
  },
  async run({ values }, ui) {
    if (values.gateway === "" || values.out === "") {
      ui.error("Error: -gateway and -out are required");
      return 1;
    }
    if (values.target !== "workerd") {
      ui.error(`Error: unsupported -target ${JSON.stringify(values.target)}, only "workerd"`);
      return 1;
    }
    if (values.relay === "" || values["relay-host"] === "" || values["relay-certificate"] === "") {
      ui.error("Error: -relay, -relay-host and -relay-certificate are required (the edge reaches the mesh through the relay)");
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      const [gw] = await client.configEntries().get("api-gateway", values.gateway);
      const listeners = ((gw as { Listeners?: Listener[] }).Listeners ?? []).filter((l) => (l.Protocol ?? "") === "http");
      const listener = values.listener === "" ? listeners[0] : listeners.find((l) => l.Name === values.listener);
      if (!listener) throw new Error(`api-gateway ${JSON.stringify(values.gateway)} has no http listener ${JSON.stringify(values.listener)}`);
      const certRef = listener.TLS?.Certificates?.find((c) => (c.Kind ?? "inline-certificate") === "inline-certificate");
      const pem = async (name: string) => {
        const [e] = await client.configEntries().get("inline-certificate", name);
        const c = e as { Certificate?: string; PrivateKey?: string };
        return { certPem: c.Certificate ?? "", keyPem: c.PrivateKey ?? "" };
      };
      const serverCert = certRef?.Name ? await pem(certRef.Name) : null;
      const relayCert = await pem(values["relay-certificate"]);
      const [leaf] = await client.agent().connectCALeaf(values.gateway);
      const base = new URL(client.baseUrl);
      const config = workerdConfig({
        listen: values.listen,
        consulAddress: base.host,
        relayAddress: values.relay,
        relayHost: values["relay-host"],
        relayTrusted: [relayCert.certPem],
        leafCertPem: leaf.CertPEM,
        leafKeyPem: leaf.PrivateKeyPEM,
        serverCert,
        settings: { gateway: values.gateway, listener: listener.Name ?? "", ...(client.token ? { token: client.token } : {}) },
      });
      await mkdir(values.out, { recursive: true });
      await writeFile(join(values.out, "worker.mjs"), await bundleWorker());
      await writeFile(join(values.out, "config.capnp"), config, { mode: 0o600 });
      ui.output(`Wrote ${join(values.out, "worker.mjs")} and ${join(values.out, "config.capnp")} (listener ${listener.Name}, leaf valid until ${leaf.ValidBefore})`);
      return 0;
    } catch (err) {
      ui.error(`Error writing the bundle: ${errorText(err)}`);
      return 1;
    }
  },
});

export const apiGatewayCommand = groupCommand(
  "api-gateway",
  "Interact with API gateways",
  `
  This command has subcommands for API gateways.

  Write the gateway's edge bundle for workerd:

      $ consulate api-gateway bundle -gateway api-gateway -target workerd -out ./edge
`,
  { bundle: apiGatewayBundleCommand },
);
