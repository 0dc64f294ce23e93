/** The API gateway: config entries' data plane, in the process and at the edge. */
export { ApiGateway, type ApiGatewayOptions } from "./gateway.ts";
export { GatewayHandler, type HandlerOptions, MAX_REQUEST_BODY } from "./handler.ts";
export { JwtVerifier, type JwtVerdict } from "./jwt.ts";
export { relayHandler, TARGET_HEADER } from "./relay.ts";
export { ConfigSourceError, type GatewayConfig, type HttpApi, loadConfig, waitForChange } from "./source.ts";
export { buildListenerTable, type JwtRequirement, type ListenerTable, MissingChainError, routedServices } from "./table.ts";
