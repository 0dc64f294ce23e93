/** Catalog writes: nodes, services and checks (Consul's state/catalog.go). */
import { bump, StateError, touch, type WriteContext } from "./context.ts";
import { deleteNodeCoordinates } from "./coordinates.ts";
import { deepEqual as same, sameRow } from "./equal.ts";
import { invalidateSessionsOfCheck, invalidateSessionsOfNode } from "./session.ts";
import { checkRow, nodeRow, serviceRow } from "./rows.ts";
import { nodeKey, type ServiceRow } from "./tables.ts";
import { meshTarget, releaseVirtualIp, withVirtualIps } from "./virtual_ips.ts";
import { nodeTopic, serviceTopic, Topic } from "./watch.ts";
import {
  type DeregisterRequest,
  type HealthCheck,
  HealthStatus,
  type Node,
  type NodeService,
  type RegisterRequest,
} from "../structs/catalog.ts";

export const NODES = "nodes";
export const SERVICES = "services";
export const CHECKS = "checks";
/** Index of the last removal of a service's last instance (Consul's service_last_extinction). */
export const SERVICE_EXTINCTION = "service_last_extinction";
/** Index of the last node removal (Consul's node_last_extinction). */
export const NODE_EXTINCTION = "node_last_extinction";
export const serviceIndexName = (name: string): string => `service.${name}`;
export const nodeIndexName = (name: string): string => `node.${name}`;

type NodeInput = Omit<Node, "CreateIndex" | "ModifyIndex">;
type ServiceInput = Omit<NodeService, "CreateIndex" | "ModifyIndex">;
type CheckInput = Omit<HealthCheck, "CreateIndex" | "ModifyIndex">;

/** Marks a service name changed: its own index, and the topics of its readers. */
function touchService(ctx: WriteContext, name: string): void {
  bump(ctx, serviceIndexName(name));
  touch(ctx, serviceTopic(name));
}

/** A node-level change reaches every service on the node. */
function touchNode(ctx: WriteContext, node: string): void {
  touch(ctx, nodeTopic(node));
  for (const row of ctx.t.servicesOfNode(node)) touchService(ctx, row.Service.Service);
}

export function ensureNode(ctx: WriteContext, input: NodeInput): void {
  const { t } = ctx;
  const existing = t.nodes.get(input.Node);
  if (input.ID !== "") {
    for (const other of t.nodesById.get(input.ID) ?? []) {
      if (other !== input.Node) {
        throw new StateError(`Error ensuring node: node ID "${input.ID}" for node "${input.Node}" aliases existing node "${other}"`);
      }
    }
  }
  const row = nodeRow(input, existing?.CreateIndex ?? ctx.index, ctx.index);
  if (existing && sameRow(existing, row)) return;
  t.nodes.set(input.Node, row);
  bump(ctx, NODES, nodeIndexName(input.Node));
  touch(ctx, Topic.Nodes);
  touchNode(ctx, input.Node);
}

export function ensureService(ctx: WriteContext, node: string, given: ServiceInput): void {
  const { t } = ctx;
  if (!t.nodes.has(node)) throw new StateError("Missing node registration");
  // Mesh instances and terminating gateways carry virtual IPs the servers assign.
  const input = withVirtualIps(ctx, given);
  const key = nodeKey(node, input.ID);
  const existing = t.services.get(key);
  const stored = serviceRow(input, existing?.Service.CreateIndex ?? ctx.index, ctx.index);
  if (existing) {
    if (sameRow(existing.Service, stored)) return;
    if (existing.Service.Service !== input.Service) touchService(ctx, existing.Service.Service);
  }
  const row: ServiceRow = { Node: node, Service: stored };
  t.services.set(key, row);
  if (existing) releaseHeldBy(ctx, existing.Service);
  // Node reads include the node's services, so their indexes move too.
  bump(ctx, SERVICES, NODES, nodeIndexName(node));
  touch(ctx, Topic.Services, nodeTopic(node));
  touchService(ctx, input.Service);
  // Checks of this service carry its name and tags.
  for (const check of t.checksOfNode(node)) {
    if (check.ServiceID === input.ID && (check.ServiceName !== input.Service || !same(check.ServiceTags, input.Tags))) {
      t.checks.set(nodeKey(node, check.CheckID), checkRow({ ...check, ServiceName: input.Service, ServiceTags: stored.Tags }, check.CreateIndex, ctx.index));
      bump(ctx, CHECKS);
    }
  }
}

export function ensureCheck(ctx: WriteContext, input: CheckInput): void {
  const { t } = ctx;
  if (!t.nodes.has(input.Node)) throw new StateError("Missing node registration");
  let check: CheckInput = { ...input, Status: input.Status === "" ? HealthStatus.Critical : input.Status };
  let service: ServiceRow | undefined;
  if (check.ServiceID !== "") {
    service = t.services.get(nodeKey(check.Node, check.ServiceID));
    if (!service) throw new StateError("Missing service registration");
    check = { ...check, ServiceName: service.Service.Service, ServiceTags: service.Service.Tags };
  }
  const key = nodeKey(check.Node, check.CheckID);
  const existing = t.checks.get(key);
  const row = checkRow(check, existing?.CreateIndex ?? ctx.index, ctx.index);
  if (existing && sameRow(existing, row)) return;
  t.checks.set(key, row);
  bump(ctx, CHECKS);
  touch(ctx, Topic.Checks, nodeTopic(check.Node));
  if (service) touchService(ctx, service.Service.Service);
  else touchNode(ctx, check.Node);
  if (check.Status === HealthStatus.Critical) invalidateSessionsOfCheck(ctx, check.Node, check.CheckID);
}

export function deleteCheck(ctx: WriteContext, node: string, checkId: string): void {
  const { t } = ctx;
  const key = nodeKey(node, checkId);
  const check = t.checks.get(key);
  if (!check) return;
  t.checks.delete(key);
  bump(ctx, CHECKS);
  touch(ctx, Topic.Checks, nodeTopic(node));
  if (check.ServiceID !== "") {
    touchService(ctx, check.ServiceName);
  } else {
    touchNode(ctx, node);
    // Consul's deleteCheckTxn moves the services table index for a node check.
    bump(ctx, SERVICES);
  }
  invalidateSessionsOfCheck(ctx, node, checkId);
}

export function deleteService(ctx: WriteContext, node: string, serviceId: string): void {
  const { t } = ctx;
  const key = nodeKey(node, serviceId);
  const row = t.services.get(key);
  if (!row) return;
  for (const check of t.checksOfNode(node)) {
    if (check.ServiceID === serviceId) deleteCheck(ctx, node, check.CheckID);
  }
  t.services.delete(key);
  bump(ctx, CHECKS, SERVICES, NODES, nodeIndexName(node));
  touch(ctx, Topic.Services, nodeTopic(node));
  const name = row.Service.Service;
  if (t.servicesByName.has(name)) {
    touchService(ctx, name);
  } else {
    // The last instance is gone: its index goes and reads of the name fall
    // back to the extinction index, which never goes backwards.
    t.indexes.delete(serviceIndexName(name));
    bump(ctx, SERVICE_EXTINCTION);
    touch(ctx, serviceTopic(name));
  }
  releaseHeldBy(ctx, row.Service);
}

/** Frees the virtual IPs an instance held (its name's, its mesh target's) once nothing else holds them. */
function releaseHeldBy(ctx: WriteContext, svc: NodeService): void {
  releaseVirtualIp(ctx, svc.Service);
  const target = meshTarget(svc);
  if (target !== null && target !== svc.Service) releaseVirtualIp(ctx, target);
}

export function deleteNode(ctx: WriteContext, node: string): void {
  const { t } = ctx;
  if (!t.nodes.has(node)) return;
  for (const row of t.servicesOfNode(node)) deleteService(ctx, node, row.Service.ID);
  for (const check of t.checksOfNode(node)) deleteCheck(ctx, node, check.CheckID);
  deleteNodeCoordinates(ctx, node);
  t.nodes.delete(node);
  t.indexes.delete(nodeIndexName(node));
  bump(ctx, NODES, NODE_EXTINCTION);
  touch(ctx, Topic.Nodes, nodeTopic(node));
  invalidateSessionsOfNode(ctx, node);
}

/** Runs one step of a registration, prefixing its error as Consul's ensureRegistrationTxn does. */
function step(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof StateError) throw new StateError(`${what}: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * A registration with its node name, service ID and check IDs spelled as
 * already stored: Consul's catalog indexes fold their case, so "Web-1" and
 * "web-1" are one node, and a check's ID another spelling of the same check.
 */
function foldedRegister(t: WriteContext["t"], req: RegisterRequest): RegisterRequest {
  const node = t.nodeName(req.Node);
  const service = req.Service ? { ...req.Service, ID: t.serviceId(node, req.Service.ID) } : req.Service;
  const serviceId = (id: string) => (id === "" ? id : service && service.ID.toLowerCase() === id.toLowerCase() ? service.ID : t.serviceId(node, id));
  const checks = req.Checks.map((c) => ({ ...c, CheckID: t.checkId(node, c.CheckID), ServiceID: serviceId(c.ServiceID) }));
  return { ...req, Node: node, ...(service ? { Service: service } : {}), Checks: checks };
}

export function applyRegister(ctx: WriteContext, given: RegisterRequest): void {
  const req = foldedRegister(ctx.t, given);
  if (!req.SkipNodeUpdate || !ctx.t.nodes.has(req.Node)) {
    step("failed inserting node", () =>
      ensureNode(ctx, {
        ID: req.ID,
        Node: req.Node,
        Address: req.Address,
        Datacenter: req.Datacenter,
        TaggedAddresses: req.TaggedAddresses,
        Meta: req.NodeMeta,
      }),
    );
  }
  const service = req.Service;
  if (service) step("failed inserting service", () => ensureService(ctx, req.Node, service));
  for (const check of req.Checks) {
    if (check.Node !== "" && check.Node.toLowerCase() !== req.Node.toLowerCase()) {
      throw new StateError(`check node "${check.Node}" does not match node "${req.Node}"`);
    }
    step(`failed inserting check on node "${req.Node}"`, () => ensureCheck(ctx, { ...check, Node: req.Node }));
  }
}

export function applyDeregister(ctx: WriteContext, req: DeregisterRequest): void {
  const node = ctx.t.nodeName(req.Node);
  if (req.ServiceID === "" && req.CheckID === "") return deleteNode(ctx, node);
  if (req.ServiceID !== "") deleteService(ctx, node, ctx.t.serviceId(node, req.ServiceID));
  if (req.CheckID !== "") deleteCheck(ctx, node, ctx.t.checkId(node, req.CheckID));
}
