/**
 * The terminating gateway (`consulate connect proxy -gateway=terminating`):
 * mesh mutual TLS ends here, with the leaf of each linked service, and traffic
 * goes on to services outside the mesh.
 */
export { TerminatingGateway, type TerminatingGatewayOptions } from "./gateway.ts";
export { type Link, type LinkedServiceWire, resolveLinks } from "./links.ts";
