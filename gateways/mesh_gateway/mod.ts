/**
 * The mesh gateway (`consulate connect proxy -gateway=mesh`): routes mesh
 * TLS by server name to local sidecars or to other datacenters' gateways
 * without terminating it.
 */
export { DEFAULT_MAX_CONNECTIONS, MeshGateway, type MeshGatewayOptions } from "./gateway.ts";
export { MeshGatewayCatalog } from "./catalog.ts";
export { route, type Route, type RouteRefusal, type RoutingTable } from "./table.ts";
