/** Catalog writes: nodes, services and checks (Consul's state/catalog.go). */
import { bump, StateError, touch, type WriteContext } from "./context.ts";
import { invalidateSessionsOfCheck, invalidateSessionsOfNode } from "./session.ts";
import { nodeKey, type ServiceRow } from "./tables.ts";
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
export const serviceIndexName = (name: string): string => `service.${name}`;

type NodeInput = Omit<Node, "CreateIndex" | "ModifyIndex">;
type ServiceInput = Omit<NodeService, "CreateIndex" | "ModifyIndex">;
type CheckInput = Omit<HealthCheck, "CreateIndex" | "ModifyIndex">;

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

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
    for (const other of t.nodes.values()) {
      if (other.ID === input.ID && other.Node !== input.Node) {
        throw new StateError(`Error ensuring node: node ID "${input.ID}" for node "${input.Node}" aliases existing node "${other.Node}"`);
      }
    }
  }
  if (existing) {
    const { CreateIndex: _c, ModifyIndex: _m, ...rest } = existing;
    if (same(rest, input)) return;
  }
  t.nodes.set(input.Node, { ...input, CreateIndex: existing?.CreateIndex ?? ctx.index, ModifyIndex: ctx.index });
  bump(ctx, NODES);
  touch(ctx, Topic.Nodes);
  touchNode(ctx, input.Node);
}

export function ensureService(ctx: WriteContext, node: string, input: ServiceInput): void {
  const { t } = ctx;
  if (!t.nodes.has(node)) throw new StateError("Missing node registration");
  const key = nodeKey(node, input.ID);
  const existing = t.services.get(key);
  if (existing) {
    const { CreateIndex: _c, ModifyIndex: _m, ...rest } = existing.Service;
    if (same(rest, input)) return;
    if (existing.Service.Service !== input.Service) touchService(ctx, existing.Service.Service);
  }
  const row: ServiceRow = {
    Node: node,
    Service: { ...input, CreateIndex: existing?.Service.CreateIndex ?? ctx.index, ModifyIndex: ctx.index },
  };
  t.services.set(key, row);
  bump(ctx, SERVICES);
  touch(ctx, Topic.Services, nodeTopic(node));
  touchService(ctx, input.Service);
  // Checks of this service carry its name and tags.
  for (const check of t.checksOfNode(node)) {
    if (check.ServiceID === input.ID && (check.ServiceName !== input.Service || !same(check.ServiceTags, input.Tags))) {
      t.checks.set(nodeKey(node, check.CheckID), { ...check, ServiceName: input.Service, ServiceTags: input.Tags, ModifyIndex: ctx.index });
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
  if (existing) {
    const { CreateIndex: _c, ModifyIndex: _m, ...rest } = existing;
    if (same(rest, check)) return;
  }
  t.checks.set(key, { ...check, CreateIndex: existing?.CreateIndex ?? ctx.index, ModifyIndex: ctx.index });
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
  if (check.ServiceID !== "") touchService(ctx, check.ServiceName);
  else touchNode(ctx, node);
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
  bump(ctx, SERVICES);
  touch(ctx, Topic.Services, nodeTopic(node));
  touchService(ctx, row.Service.Service);
}

export function deleteNode(ctx: WriteContext, node: string): void {
  const { t } = ctx;
  if (!t.nodes.has(node)) return;
  for (const row of t.servicesOfNode(node)) deleteService(ctx, node, row.Service.ID);
  for (const check of t.checksOfNode(node)) deleteCheck(ctx, node, check.CheckID);
  invalidateSessionsOfNode(ctx, node);
  t.nodes.delete(node);
  bump(ctx, NODES);
  touch(ctx, Topic.Nodes, nodeTopic(node));
}

export function applyRegister(ctx: WriteContext, req: RegisterRequest): void {
  if (!req.SkipNodeUpdate || !ctx.t.nodes.has(req.Node)) {
    ensureNode(ctx, {
      ID: req.ID,
      Node: req.Node,
      Address: req.Address,
      Datacenter: req.Datacenter,
      TaggedAddresses: req.TaggedAddresses,
      Meta: req.NodeMeta,
    });
  }
  if (req.Service) ensureService(ctx, req.Node, req.Service);
  for (const check of req.Checks) ensureCheck(ctx, { ...check, Node: req.Node });
}

export function applyDeregister(ctx: WriteContext, req: DeregisterRequest): void {
  if (req.ServiceID === "" && req.CheckID === "") return deleteNode(ctx, req.Node);
  if (req.ServiceID !== "") deleteService(ctx, req.Node, req.ServiceID);
  if (req.CheckID !== "") deleteCheck(ctx, req.Node, req.CheckID);
}
