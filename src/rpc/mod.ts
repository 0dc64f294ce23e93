/** The typed RPC layer: one interface (`Rpc`), the method list, and its transports. */
export { type ArgsOf, callAsync, type Consistency, defaultOptions, isPromise, type MaybePromise, type Method, type QueryReply, type ReplyOf, type RequestOptions, type Rpc } from "./types.ts";
export type { Endpoints, NodeServicesRow, ServiceNodeRow, SessionApplyArgs } from "./methods.ts";
export { BadRequestError, fromWireError, NoPathError, NoServersError, NotFoundError, registerWireError, RpcError, toWireError, type WireError } from "./errors.ts";
export { inProcessRpc } from "./inprocess.ts";
