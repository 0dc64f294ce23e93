/** The typed RPC layer: one interface (`Rpc`), the method list, and its transports. */
export { type ArgsOf, callAsync, type Consistency, defaultOptions, isPromise, type MaybePromise, type Method, type QueryReply, type ReplyOf, type RequestOptions, type Rpc } from "./types.ts";
export type { DnsLookupAnswer, DnsLookupOp, Endpoints, KeyringEntry, KeyringOp, NodeServicesRow, ServiceNodeRow, SessionApplyArgs } from "./methods.ts";
export { BadRequestError, fromWireError, NoPathError, NoServersError, NotFoundError, registerWireError, RpcError, toWireError, type WireError } from "./errors.ts";
export { inProcessRpc } from "./inprocess.ts";
export { listenRpc, type RpcListener, type RpcListenerOptions } from "./tcp_server.ts";
export { type ConnectionOptions, RpcConnection, TransportError } from "./tcp_client.ts";
export { markReadOnly, type RouterOptions, type ServerInfo, ServerRouter, type ServerSource, staticServers } from "./router.ts";
export { registerValidator, validateArgs } from "./validate.ts";
