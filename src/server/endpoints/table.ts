/**
 * The server's RPC table: Consul's method names to the functions that answer
 * them. Every transport dispatches through it (in-process directly; the RPC
 * port and NATS after decoding a frame).
 */
import * as acl from "./acl.ts";
import * as aclAuth from "./acl_auth.ts";
import { withAcl } from "./acl_enforce.ts";
import * as catalog from "./catalog.ts";
import * as config from "./config.ts";
import * as coordinate from "./coordinate.ts";
import * as discoveryChain from "./discovery_chain.ts";
import * as intention from "./intention.ts";
import * as connect from "./connect_catalog.ts";
import * as connectCA from "./connect_ca.ts";
import { dnsLookup } from "./dns_lookup.ts";
import { eventFire, keyringOperation } from "./internal.ts";
import * as health from "./health.ts";
import * as kvs from "./kvs.ts";
import * as operator from "./operator.ts";
import * as autopilot from "./autopilot.ts";
import * as preparedQuery from "./prepared_query.ts";
import * as session from "./session.ts";
import * as snapshot from "./snapshot.ts";
import * as status from "./status.ts";
import * as txn from "./txn.ts";
import * as ui from "./ui.ts";
import type { Server } from "../server.ts";
import type { ArgsOf, MaybePromise, Method, ReplyOf, RequestOptions } from "../../rpc/types.ts";

export type Handler<M extends Method> = (server: Server, args: ArgsOf<M>, opts: RequestOptions) => MaybePromise<ReplyOf<M>>;
export type EndpointTable = { readonly [M in Method]: Handler<M> };

const unguarded: EndpointTable = {
  "Catalog.Register": catalog.register,
  "Catalog.Deregister": catalog.deregister,
  "Catalog.ListDatacenters": catalog.listDatacenters,
  "Catalog.ListNodes": catalog.listNodes,
  "Catalog.ListServices": catalog.listServices,
  "Catalog.ServiceNodes": catalog.serviceNodes,
  "Catalog.NodeServices": catalog.nodeServices,
  "Catalog.ConnectServiceNodes": connect.catalogServiceNodes,
  "Catalog.GatewayServices": connect.gatewayServices,
  "Catalog.VirtualIPForService": catalog.virtualIpForService,

  "Health.NodeChecks": health.nodeChecks,
  "Health.ServiceChecks": health.serviceChecks,
  "Health.ChecksInState": health.checksInState,
  "Health.ServiceNodes": health.serviceNodes,
  "Health.ConnectServiceNodes": connect.healthServiceNodes,

  "KVS.Get": kvs.get,
  "KVS.List": kvs.list,
  "KVS.ListKeys": kvs.listKeys,
  "KVS.Apply": kvs.apply,

  "Session.Apply": session.apply,
  "Session.Get": session.get,
  "Session.List": session.list,
  "Session.NodeSessions": session.nodeSessions,
  "Session.Renew": session.renew,

  "Txn.Apply": txn.apply,
  "Txn.Read": txn.read,

  "ConfigEntry.Apply": config.apply,
  "ConfigEntry.Delete": config.remove,
  "ConfigEntry.Get": config.get,
  "ConfigEntry.List": config.list,
  "DiscoveryChain.Get": discoveryChain.get,

  "Intention.Apply": intention.apply,
  "Intention.Get": intention.get,
  "Intention.List": intention.list,
  "Intention.Match": intention.match,
  "Intention.Check": intention.check,

  "ConnectCA.Roots": connectCA.roots,
  "ConnectCA.ConfigurationGet": connectCA.configurationGet,
  "ConnectCA.ConfigurationSet": connectCA.configurationSet,
  "ConnectCA.Sign": connectCA.sign,
  "AutoEncrypt.Sign": connectCA.autoEncryptSign,
  "ConnectCA.SignIntermediate": (s, a) => s.ca.signIntermediate(a.CSR),

  "Snapshot.Save": snapshot.save,
  "Snapshot.Restore": snapshot.restore,

  "Status.Leader": status.leader,
  "Status.Peers": status.peers,
  "Status.Ping": () => true,

  "Internal.DNSLookup": dnsLookup,
  "Internal.ServiceDump": ui.serviceDumpAll,
  "Internal.NodeDump": ui.nodeDumpAll,
  "Internal.GatewayServiceDump": ui.gatewayDump,
  "Internal.ServiceTopology": ui.serviceTopology,
  "Internal.EventFire": eventFire,
  "Internal.KeyringOperation": keyringOperation,

  "Coordinate.Update": coordinate.update,
  "Coordinate.ListDatacenters": coordinate.listDatacenters,
  "Coordinate.ListNodes": coordinate.listNodes,
  "Coordinate.Node": coordinate.node,

  "PreparedQuery.Apply": preparedQuery.apply,
  "PreparedQuery.Get": preparedQuery.get,
  "PreparedQuery.List": preparedQuery.list,
  "PreparedQuery.Explain": preparedQuery.explain,
  "PreparedQuery.Execute": preparedQuery.execute,
  "PreparedQuery.ExecuteRemote": preparedQuery.executeRemote,

  "Operator.RaftGetConfiguration": operator.raftGetConfiguration,
  "Operator.RaftRemovePeer": operator.raftRemovePeer,
  "Operator.AutopilotGetConfiguration": autopilot.autopilotGetConfiguration,
  "Operator.AutopilotSetConfiguration": autopilot.autopilotSetConfiguration,
  "Operator.ServerHealth": (s: Server) => autopilot.serverHealth(s),
  "Operator.AutopilotState": (s: Server) => autopilot.autopilotState(s),

  "ACL.BootstrapTokens": acl.bootstrap,
  "ACL.TokenSet": acl.tokenSet,
  "ACL.TokenClone": acl.tokenClone,
  "ACL.TokenRead": acl.tokenRead,
  "ACL.TokenDelete": acl.tokenDelete,
  "ACL.TokenList": acl.tokenList,
  "ACL.ResolveToken": acl.resolveToken,
  "ACL.PolicySet": acl.policySet,
  "ACL.PolicyRead": acl.policyRead,
  "ACL.PolicyList": acl.policyList,
  "ACL.PolicyDelete": acl.policyDelete,
  "ACL.RoleSet": acl.roleSet,
  "ACL.RoleRead": acl.roleRead,
  "ACL.RoleList": acl.roleList,
  "ACL.RoleDelete": acl.roleDelete,
  "ACL.AuthMethodSet": aclAuth.authMethodSet,
  "ACL.AuthMethodRead": aclAuth.authMethodRead,
  "ACL.AuthMethodList": aclAuth.authMethodList,
  "ACL.AuthMethodDelete": aclAuth.authMethodDelete,
  "ACL.BindingRuleSet": aclAuth.bindingRuleSet,
  "ACL.BindingRuleRead": aclAuth.bindingRuleRead,
  "ACL.BindingRuleList": aclAuth.bindingRuleList,
  "ACL.BindingRuleDelete": aclAuth.bindingRuleDelete,
  "ACL.Login": aclAuth.login,
  "ACL.ReplicationRead": acl.replicationRead,
  "ACL.ReplicationStatus": (s: Server) => acl.replicationStatus(s),
  "ACL.Logout": aclAuth.logout,
};

/** Whether `name` is a method of the table (frames from the wire are checked with it). */
export function isMethod(name: string): name is Method {
  return Object.hasOwn(endpoints, name);
}

/** Every endpoint, behind the ACL rules of acl_enforce.ts. */
export const endpoints: EndpointTable = withAcl(unguarded);
