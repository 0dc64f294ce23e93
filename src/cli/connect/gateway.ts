/**
 * `consulate connect proxy -gateway=mesh|terminating`: Consul's
 * `connect envoy -gateway` flags on the built-in proxy. The gateway binds
 * `-address` (and `-wan-address` when it differs), optionally registers
 * itself (`-register`: its kind, `lan`/`wan` tagged addresses and a TCP
 * check), serves metrics on `-admin-bind`, and drains on SIGTERM/SIGINT.
 */
import type { Client } from "../../api/mod.ts";
import type { Ui } from "../io.ts";
import { errorText } from "../command.ts";
import { AdminServer } from "../../../gateways/gateway/admin.ts";
import type { BindAddress } from "../../../gateways/gateway/listeners.ts";
import { ApiGateway } from "../../../gateways/api/mod.ts";
import { MeshGateway } from "../../../gateways/mesh_gateway/mod.ts";
import { TerminatingGateway } from "../../../gateways/terminating/mod.ts";
import type { MeshLogger } from "../../../gateways/mesh/log.ts";
import { parseHostPort, RegisterMonitor, SidecarConfigError } from "../../../gateways/sidecar/mod.ts";

export const GATEWAY_KINDS = { mesh: "mesh-gateway", terminating: "terminating-gateway", api: "api-gateway" } as const;

export interface GatewayFlags {
  readonly gateway: string;
  readonly service: string;
  readonly "proxy-id": string;
  readonly address: string;
  readonly "wan-address": string;
  readonly register: boolean;
  readonly "deregister-after-critical": string;
  readonly "admin-bind": string;
  readonly "max-connections": number;
  readonly "drain-timeout": number;
  readonly "edge-bind": string;
  readonly "edge-certificate": string;
}

interface RunningGateway {
  start(): Promise<void>;
  readonly ports: number[];
  readonly ready: boolean;
  prometheus(): string;
  drain(deadlineMs: number): Promise<number>;
}

export async function runGateway(values: GatewayFlags, ui: Ui, client: Client, logger: MeshLogger): Promise<number> {
  let kind: (typeof GATEWAY_KINDS)[keyof typeof GATEWAY_KINDS];
  let lan: BindAddress;
  let wan: BindAddress | null = null;
  let admin: BindAddress | null = null;
  let edge: BindAddress | null = null;
  let datacenter: string;
  try {
    const k = values.gateway.toLowerCase();
    if (k !== "mesh" && k !== "terminating" && k !== "api") throw new SidecarConfigError(`Gateway must be one of "mesh", "terminating" or "api", got ${JSON.stringify(values.gateway)}`);
    kind = GATEWAY_KINDS[k];
    if (values.address === "") throw new SidecarConfigError("-address is required with -gateway (the LAN address the gateway listens on)");
    lan = parseHostPort(values.address, "-address", "");
    if (lan.host === "") throw new SidecarConfigError("-address must name a host, as in 10.0.0.5:8443");
    if (values["wan-address"] !== "") {
      if (kind !== "mesh-gateway") throw new SidecarConfigError("-wan-address is only valid with -gateway=mesh");
      wan = parseHostPort(values["wan-address"], "-wan-address", lan.host);
    }
    if (values["edge-bind"] !== "") {
      if (kind !== "api-gateway") throw new SidecarConfigError("-edge-bind is only valid with -gateway=api");
      if (values["edge-certificate"] === "") throw new SidecarConfigError("-edge-bind needs -edge-certificate (an inline-certificate entry with the DNS name the edge dials)");
      edge = parseHostPort(values["edge-bind"], "-edge-bind", lan.host);
    }
    if (values["admin-bind"] !== "") admin = parseHostPort(values["admin-bind"], "-admin-bind", "127.0.0.1");
    if (values["max-connections"] < 1) throw new SidecarConfigError("-max-connections must be at least 1");
    const self = await client.agent().self();
    datacenter = typeof self.Config?.Datacenter === "string" ? self.Config.Datacenter : "";
    if (datacenter === "") throw new SidecarConfigError("the agent did not say its datacenter");
  } catch (err) {
    ui.error(`==> Error preparing configuration: ${errorText(err)}`);
    return 1;
  }
  const service = values.service || kind;
  const id = values["proxy-id"] || service;
  const binds = wan && (wan.host !== lan.host || wan.port !== lan.port) ? [lan, wan] : [lan];
  const gw: RunningGateway =
    kind === "mesh-gateway"
      ? new MeshGateway({ client, datacenter, binds, maxConnections: values["max-connections"], logger })
      : kind === "api-gateway"
        ? new ApiGateway({
            client,
            api: { base: client.baseUrl, token: client.token },
            name: service,
            host: lan.host,
            logger,
            edge: edge ? { host: edge.host, port: edge.port, certificate: values["edge-certificate"] } : null,
          })
        : new TerminatingGateway({ client, name: service, datacenter, binds, maxConnections: values["max-connections"], logger });
  ui.info(`    Configuration mode: ${kind}`);
  ui.info(`               Service: ${service}`);
  ui.info(`            Datacenter: ${datacenter}`);
  ui.info(`           LAN address: ${lan.host}:${lan.port}`);
  if (wan) ui.info(`           WAN address: ${wan.host}:${wan.port}`);
  ui.info("");
  ui.output("==> Log data will now stream in as it occurs:\n");
  let server: AdminServer | null = null;
  try {
    await gw.start();
    if (admin) {
      server = new AdminServer({ host: admin.host, port: admin.port, metrics: () => gw.prometheus(), ready: () => gw.ready });
      await server.start();
      logger.info(`admin listener on ${admin.host}:${server.port} (/stats/prometheus, /ready)`);
    }
  } catch (err) {
    ui.error(`==> Failed initializing gateway: ${errorText(err)}`);
    await gw.drain(0);
    await server?.stop();
    return 1;
  }
  const ports = gw.ports;
  logger.info(`${kind} listening on ${binds.map((b, i) => `${b.host}:${ports[i] ?? b.port}`).join(" and ")}`);
  let monitor: RegisterMonitor | null = null;
  if (values.register) {
    const lanPort = ports[0] ?? lan.port;
    const wanAddr = wan ?? (kind === "mesh-gateway" ? lan : null);
    const wanPort = wan && binds.length > 1 ? (ports[1] ?? wan.port) : wan ? lanPort : lanPort;
    monitor = new RegisterMonitor({
      client,
      service,
      address: lan.host,
      port: lanPort,
      logger,
      definition: {
        Kind: kind,
        ID: id,
        Name: service,
        Address: lan.host,
        Port: lanPort,
        TaggedAddresses: {
          lan: { Address: lan.host, Port: lanPort },
          ...(wanAddr ? { wan: { Address: wanAddr.host, Port: wanPort } } : {}),
        },
        Check: { Name: `${kind} listening`, TCP: `${lan.host}:${lanPort}`, Interval: "10s", DeregisterCriticalServiceAfter: values["deregister-after-critical"] },
      },
    });
    await monitor.start();
  }
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      await monitor?.stop();
      const cut = await gw.drain(values["drain-timeout"]);
      if (cut > 0) logger.warn(`drain deadline passed: closed ${cut} connection(s)`);
      await server?.stop();
      resolveDone();
    })();
  };
  const offs = [ui.io.onSignal("SIGINT", stop), ui.io.onSignal("SIGTERM", stop)];
  await done;
  for (const off of offs) off();
  ui.output("==> Consul Connect proxy shutdown");
  return 0;
}
