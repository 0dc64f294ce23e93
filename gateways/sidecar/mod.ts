/**
 * The sidecar proxy (`consulate connect proxy`): a mutual-TLS public listener
 * in front of a local app and local listeners for its upstreams, configured
 * and re-configured from the control plane.
 */
export { SidecarProxy, type SidecarOptions, type SidecarSource } from "./proxy.ts";
export {
  configFromRegistration,
  parseHostPort,
  parseUpstreamFlag,
  type PublicListenerConfig,
  type SidecarConfig,
  SidecarConfigError,
  type UpstreamConfig,
} from "./config.ts";
export { RegisterMonitor, type RegisterMonitorOptions } from "./register.ts";
export { lookupProxyIdForSidecar } from "./lookup.ts";
