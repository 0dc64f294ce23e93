/** The discovery chain: compiled from service-router, -splitter and -resolver entries, rendered as Consul's JSON. */
export { compileChain, type CompileRequest, DEFAULT_CONNECT_TIMEOUT_NS, normalizeWeight } from "./compile.ts";
export { renderChain } from "./render.ts";
export {
  type CompiledChain,
  type DiscoveryFailover,
  type DiscoveryResolver,
  type DiscoveryRoute,
  type DiscoverySplit,
  type DiscoveryTarget,
  type GraphNode,
  nodeKey,
  NodeType,
  type SubsetDef,
  targetSni,
} from "./types.ts";
