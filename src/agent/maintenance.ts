/** Maintenance-mode checks, with Consul's IDs, names and default notes. */
import type { CheckDef } from "./local_state.ts";

export const NODE_MAINT_ID = "_node_maintenance";
export const serviceMaintId = (serviceId: string): string => `_service_maintenance:${serviceId}`;

export function nodeMaintenanceCheck(reason: string): CheckDef {
  return maintCheck(NODE_MAINT_ID, "Node Maintenance Mode", reason || "Maintenance mode is enabled for this node, but no reason was provided. This is a default message.", "");
}

export function serviceMaintenanceCheck(serviceId: string, reason: string): CheckDef {
  return maintCheck(
    serviceMaintId(serviceId),
    "Service Maintenance Mode",
    reason || "Maintenance mode is enabled for this service, but no reason was provided. This is a default message.",
    serviceId,
  );
}

function maintCheck(id: string, name: string, notes: string, serviceId: string): CheckDef {
  return {
    CheckID: id, Name: name, Status: "critical", Notes: notes, Output: "", ServiceID: serviceId, ServiceName: "", ServiceTags: [],
    Type: "maintenance", Interval: "", Timeout: "", ExposedPort: 0, Definition: {},
  };
}
