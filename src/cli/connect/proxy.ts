/**
 * `consulate connect proxy`: Consul's built-in proxy, with its flags and
 * messages. Configured from the agent (`-sidecar-for`, `-proxy-id`) or from
 * flags (`-service`, `-upstream`, `-listen`, `-service-addr`, `-register`).
 */
import { createLogger, isLogLevel } from "../../agent/logger.ts";
import { ApiError } from "../../api/errors.ts";
import { defineCommand, errorText } from "../command.ts";
import { parseProxyRuntime, PROXY_RUNTIME_ENV } from "../../runtime/relaunch.ts";
import { boolFlag, durationFlag, intFlag, stringFlag } from "../flags.ts";
import { AdminServer } from "../../../gateways/gateway/admin.ts";
import { runGateway } from "./gateway.ts";
import { clientFlags, connectAgent, serverFlags } from "../http_flags.ts";
import { listFlag } from "../services/register.ts";
import {
  lookupProxyIdForSidecar,
  parseHostPort,
  parseUpstreamFlag,
  RegisterMonitor,
  SidecarConfigError,
  SidecarProxy,
  type SidecarSource,
  type UpstreamConfig,
} from "../../../gateways/sidecar/mod.ts";

const help = `
Usage: consulate connect proxy [options]

  Starts a Connect proxy and runs until an interrupt is received.
  The proxy can be used to accept inbound connections for a service,
  wrap outbound connections to upstream services, or both. This enables
  a non-Connect-aware application to use Connect.

  The proxy requires service:write permissions for the service it represents.
  The token may be passed via the CLI or the CONSUL_HTTP_TOKEN environment
  variable.

  The example below starts a local proxy for establishing outbound
  connections to "db" representing the frontend service. Once running, any
  process that creates a TCP connection to the specified port (8181) will
  establish a mutual TLS connection to "db" identified as "frontend".

    $ consulate connect proxy -service frontend -upstream db:8181

  The next example starts a local proxy that also accepts inbound connections
  on port 8443, authorizes the connection, then proxies it to port 8080:

    $ consulate connect proxy \\
        -service frontend \\
        -service-addr 127.0.0.1:8080 \\
        -listen ':8443'

  A proxy registered with the agent (for example through a service's
  "sidecar_service" block) runs with -sidecar-for <service-id>.
`;

const flags = {
  ...clientFlags,
  ...serverFlags,
  "proxy-id": stringFlag("", "The proxy's ID on the local agent."),
  "sidecar-for": stringFlag(
    "",
    "The ID of a service instance on the local agent that this proxy should become a sidecar for. It requires that the proxy service is registered with the agent as a connect-proxy with Proxy.DestinationServiceID set to this value. If more than one such proxy is registered it will fail.",
  ),
  "log-level": stringFlag("INFO", "Specifies the log level."),
  "log-json": boolFlag(false, "Output logs in JSON format."),
  service: stringFlag("", "Name of the service this proxy is representing."),
  upstream: listFlag("Upstream service to support connecting to. The format should be 'name:addr', such as 'db:8181'. This will make 'db' available on port 8181. This can be repeated multiple times."),
  "service-addr": stringFlag("", "Address of the local service to proxy. Only useful if -listen and -service are both set."),
  listen: stringFlag("", "Address to listen for inbound connections to the proxied service. Must be specified with -service and -service-addr."),
  register: boolFlag(false, "Self-register with the local Consul agent. Only useful with -listen."),
  "register-id": stringFlag("", "ID suffix for the service. Use this to disambiguate with other proxies."),
  gateway: stringFlag("", "The type of gateway to run: \"mesh\", \"terminating\" or \"api\". With -register the gateway registers itself with the agent."),
  address: stringFlag("", "LAN address (host:port) a gateway listens on and advertises."),
  "wan-address": stringFlag("", "WAN address (host:port) a mesh gateway advertises to other datacenters; it listens there too when it differs from -address."),
  "deregister-after-critical": stringFlag("6h", "The amount of time the gateway's health check can be failing before it is deregistered."),
  "admin-bind": stringFlag("", "host:port of the admin listener: /config_dump and /clusters (a sidecar's effective config as JSON), /stats/prometheus and /ready; empty for none."),
  "max-connections": intFlag(10000, "Concurrent client connections a gateway accepts; more are closed with a log line."),
  "edge-bind": stringFlag("", "host:port where an API gateway accepts its edge bundle's requests (mutual TLS with the gateway's leaf); empty for none."),
  "edge-certificate": stringFlag("", "The inline-certificate entry the edge relay presents (its DNS name is what the edge verifies)."),
  "drain-timeout": durationFlag(15_000, "How long a gateway lets open connections finish after SIGTERM before closing them."),
};

/** hclog's JSON shape (`@timestamp`, `@level`, `@module`, `@message`) for a `<time> [LEVEL] <module>: <message>` line. */
export function hclogJson(line: string): string {
  const m = /^(\S+) \[(\w+)\] ([^:]+): ([\s\S]*?)\n?$/.exec(line);
  if (!m) return JSON.stringify({ "@message": line.trimEnd() });
  return JSON.stringify({ "@level": m[2]!.toLowerCase(), "@message": m[4], "@module": m[3], "@timestamp": m[1] });
}

export const connectProxyCommand = defineCommand({
  synopsis: "Runs a Connect proxy",
  help,
  flags,
  async run({ values, args }, ui) {
    if (args.length > 0) {
      ui.error("==> Should have no non-flag arguments.");
      return 1;
    }
    // Started by Node, src/cli/main.ts may have run the proxy in a child on another runtime (src/runtime/relaunch.ts); the choice is checked here too.
    try {
      parseProxyRuntime(ui.io.env(PROXY_RUNTIME_ENV));
    } catch (err) {
      ui.error(`==> ${errorText(err)}`);
      return 1;
    }
    const level = values["log-level"].toLowerCase();
    if (!isLogLevel(level)) {
      ui.error(`==> Invalid log level: ${values["log-level"]}`);
      return 1;
    }
    const logger = createLogger(level, "proxy", values["log-json"] ? (line) => ui.io.stdout(`${hclogJson(line)}\n`) : (line) => ui.io.stdout(`    ${line}`));
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    ui.output("==> Consul Connect proxy starting...");
    if (values.gateway !== "") return runGateway({ ...values, service: values.service }, ui, client, logger);

    let proxyId = values["proxy-id"] || ui.io.env("CONNECT_PROXY_ID") || "";
    const sidecarFor = values["sidecar-for"] || ui.io.env("CONNECT_SIDECAR_FOR") || "";
    let source: SidecarSource;
    let listen: { host: string; port: number } | null = null;
    try {
      if (proxyId !== "" || sidecarFor !== "") {
        if (proxyId === "") proxyId = await lookupProxyIdForSidecar(client, sidecarFor);
        let agentAddress = "";
        try {
          const self = await client.agent().self();
          agentAddress = typeof self.Member?.Addr === "string" ? self.Member.Addr : "";
        } catch (err) {
          // A service token has no agent:read (Consul's proxy never asks): the registration's own address serves.
          if (!(err instanceof ApiError && err.status === 403)) throw new SidecarConfigError(`Failed reading the agent's address: ${errorText(err)}`);
        }
        ui.info("    Configuration mode: Agent API");
        if (sidecarFor !== "") ui.info(`        Sidecar for ID: ${sidecarFor}`);
        ui.info(`              Proxy ID: ${proxyId}`);
        source = { kind: "registration", proxyId, agentAddress };
      } else {
        if (values.service === "") throw new SidecarConfigError("-service or -proxy-id must be specified so that proxy can configure itself.");
        ui.info("    Configuration mode: Flags");
        ui.info(`               Service: ${values.service}`);
        const upstreams: UpstreamConfig[] = values.upstream.map(parseUpstreamFlag).sort((a, b) => (a.destinationName < b.destinationName ? -1 : 1));
        for (const u of upstreams) ui.info(`              Upstream: ${u.destinationName} => ${u.bindAddress}:${u.bindPort}`);
        let pub = null;
        if (values.listen !== "") {
          listen = parseHostPort(values.listen, "-listen", "");
          if (values["service-addr"] === "") throw new SidecarConfigError("-service-addr must be specified with -listen so the proxy knows the backend service address.");
          const local = parseHostPort(values["service-addr"], "-service-addr", "127.0.0.1");
          ui.info(`       Public listener: ${listen.host}:${listen.port} => ${values["service-addr"]}`);
          // An empty host listens where Go's net.Listen(":port") would; loopback is the safe stand-in.
          pub = { bindAddress: listen.host || "127.0.0.1", bindPort: listen.port, localAddress: local.host, localPort: local.port };
        } else {
          ui.info("       Public listener: Disabled");
        }
        source = { kind: "static", config: { service: values.service, public: pub, upstreams, protocol: "" } };
      }
      if (values.register && (values.service === "" || values.listen === "")) throw new SidecarConfigError("-register may only be specified with -service and -listen");
    } catch (err) {
      ui.error(`==> Error preparing configuration: ${errorText(err)}`);
      return 1;
    }

    let adminAt: { host: string; port: number } | null = null;
    try {
      if (values["admin-bind"] !== "") adminAt = parseHostPort(values["admin-bind"], "-admin-bind", "127.0.0.1");
    } catch (err) {
      ui.error(`==> Error preparing configuration: ${errorText(err)}`);
      return 1;
    }
    const proxy = new SidecarProxy({ client, source, logger });
    let admin: AdminServer | null = null;
    let stopping: Promise<void> | null = null;
    let monitor: RegisterMonitor | null = null;
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const stop = () => {
      stopping ??= (async () => {
        await monitor?.stop();
        await admin?.stop();
        await proxy.stop();
        resolveDone();
      })();
    };
    const offs = [ui.io.onSignal("SIGINT", stop), ui.io.onSignal("SIGTERM", stop)];
    ui.info("");
    ui.output("==> Log data will now stream in as it occurs:\n");
    try {
      await proxy.start();
    } catch (err) {
      ui.error(`==> Failed initializing proxy: ${errorText(err)}`);
      for (const off of offs) off();
      await proxy.stop();
      return 1;
    }
    if (adminAt) {
      const a = new AdminServer({
        host: adminAt.host,
        port: adminAt.port,
        metrics: () => proxy.prometheus(),
        ready: () => proxy.currentConfig !== null,
        json: { "/config_dump": () => proxy.configDump(), "/clusters": () => proxy.clusters() },
      });
      try {
        await a.start();
      } catch (err) {
        ui.error(`==> Failed starting the admin listener on ${adminAt.host}:${adminAt.port}: ${errorText(err)}`);
        stop();
        await done;
        for (const off of offs) off();
        return 1;
      }
      admin = a;
      logger.info(`admin listener on ${adminAt.host}:${a.port} (/config_dump, /clusters, /stats/prometheus, /ready)`);
    }
    if (values.register && listen) {
      monitor = new RegisterMonitor({ client, service: values.service, address: listen.host, port: proxy.publicPort || listen.port, idSuffix: values["register-id"], logger });
      await monitor.start();
    }
    await done;
    for (const off of offs) off();
    ui.output("==> Consul Connect proxy shutdown");
    return 0;
  },
});
