/**
 * What a sidecar proxy does, from either source Consul's built-in proxy
 * takes: the `connect-proxy` service registered on the local agent
 * (`-sidecar-for` / `-proxy-id`), or flags (`-service`, `-upstream`,
 * `-listen`, `-service-addr`).
 */
import type { AgentServiceWire } from "../mesh/sources.ts";

export interface PublicListenerConfig {
  readonly bindAddress: string;
  readonly bindPort: number;
  /** Where the local app listens. */
  readonly localAddress: string;
  readonly localPort: number;
}

export interface UpstreamConfig {
  readonly destinationName: string;
  readonly destinationNamespace: string;
  readonly datacenter: string;
  readonly bindAddress: string;
  readonly bindPort: number;
  /** The upstream's `MeshGateway.Mode` ("" when it sets none). */
  readonly meshGatewayMode?: string;
  /** The upstream's opaque `Config` (limits, passive_health_check, connect_timeout_ms, protocol). */
  readonly config?: Record<string, unknown>;
}

export interface SidecarConfig {
  /** The service whose identity the proxy carries (its leaf certificate). */
  readonly service: string;
  readonly public: PublicListenerConfig | null;
  readonly upstreams: readonly UpstreamConfig[];
  /** `Proxy.Config.protocol`, used when no config entry names the protocol. */
  readonly protocol: string;
  /** The proxy registration's `Proxy.MeshGateway.Mode` ("" when it sets none). */
  readonly meshGatewayMode?: string;
}

export class SidecarConfigError extends Error {
  override readonly name = "SidecarConfigError";
}

/** `MeshGateway` as registered: `Mode` over the JSON API, `mode` when it came from an HCL/JSON config file as written. */
interface ModeWire {
  Mode?: string;
  mode?: string;
}

const modeOf = (m: ModeWire | undefined): string => (m?.Mode ?? m?.mode ?? "").toLowerCase();

interface ProxyWire {
  DestinationServiceName?: string;
  LocalServiceAddress?: string;
  LocalServicePort?: number;
  Config?: Record<string, unknown>;
  MeshGateway?: ModeWire;
  Upstreams?: {
    MeshGateway?: ModeWire;
    DestinationType?: string;
    DestinationName?: string;
    DestinationNamespace?: string;
    Datacenter?: string;
    LocalBindAddress?: string;
    LocalBindPort?: number;
    Config?: Record<string, unknown>;
  }[];
}

/**
 * Reads a connect-proxy registration. The public listener binds the address
 * the catalog advertises for the proxy (`Proxy.Config.bind_address`, else the
 * service address, else the agent's address), so it is reachable exactly
 * where other sidecars are told to dial and nowhere else.
 */
export function configFromRegistration(svc: AgentServiceWire, agentAddress: string): SidecarConfig {
  if (svc.Kind !== "connect-proxy") throw new SidecarConfigError(`service "${svc.ID}" is not a connect-proxy (kind ${JSON.stringify(svc.Kind ?? "")})`);
  const p = (svc.Proxy ?? {}) as ProxyWire;
  const dest = p.DestinationServiceName ?? "";
  if (dest === "") throw new SidecarConfigError(`proxy "${svc.ID}" has no Proxy.DestinationServiceName`);
  const cfg = p.Config ?? {};
  const str = (k: string) => (typeof cfg[k] === "string" ? (cfg[k] as string) : "");
  const num = (k: string) => (typeof cfg[k] === "number" ? (cfg[k] as number) : 0);
  const localPort = p.LocalServicePort ?? 0;
  const upstreams = (p.Upstreams ?? [])
    .filter((u) => (u.DestinationType ?? "service") === "service" && (u.DestinationName ?? "") !== "")
    .map((u) => ({
      destinationName: u.DestinationName!,
      destinationNamespace: u.DestinationNamespace ?? "",
      datacenter: u.Datacenter ?? "",
      bindAddress: u.LocalBindAddress || "127.0.0.1",
      bindPort: u.LocalBindPort ?? 0,
      meshGatewayMode: modeOf(u.MeshGateway),
      ...(u.Config && Object.keys(u.Config).length > 0 ? { config: u.Config } : {}),
    }));
  return {
    service: dest,
    public:
      localPort > 0
        ? {
            bindAddress: str("bind_address") || svc.Address || agentAddress || "127.0.0.1",
            bindPort: num("bind_port") || svc.Port,
            localAddress: str("local_service_address").split(":")[0] || p.LocalServiceAddress || "127.0.0.1",
            localPort,
          }
        : null,
    upstreams,
    protocol: str("protocol"),
    meshGatewayMode: modeOf(p.MeshGateway),
  };
}

/** `-upstream name:port` or `name:host:port` (Consul's FlagUpstreams; a bare port binds 127.0.0.1). */
export function parseUpstreamFlag(value: string): UpstreamConfig {
  const idx = value.indexOf(":");
  if (idx <= 0) throw new SidecarConfigError(`-upstream must be of the form name:addr, got ${JSON.stringify(value)}`);
  const name = value.slice(0, idx);
  let addr = value.slice(idx + 1);
  if (!addr.includes(":")) addr = `127.0.0.1:${addr}`;
  const { host, port } = parseHostPort(addr, "-upstream", "127.0.0.1");
  return { destinationName: name, destinationNamespace: "", datacenter: "", bindAddress: host, bindPort: port };
}

/** `host:port`, `:port` (host defaults to `defaultHost`). */
export function parseHostPort(value: string, flag: string, defaultHost: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  if (!m) throw new SidecarConfigError(`${flag} must be of the form host:port, got ${JSON.stringify(value)}`);
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new SidecarConfigError(`${flag} port out of range: ${port}`);
  return { host: m[1] ?? (m[2] || defaultHost), port };
}
