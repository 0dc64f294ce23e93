/** Consul's pretty output of ACL objects (command/acl/*\/formatter.go), and `-format=json`. */
import type { ACLAuthMethodListEntry, ACLBindingRule, ACLPolicy, ACLPolicyListEntry, ACLRole, ACLToken } from "../../api/mod.ts";

/** Go's time.Time %v for a UTC instant: "2026-12-07 08:01:02.123 +0000 UTC". */
export function goTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const [date, rest] = d.toISOString().split("T");
  let clock = rest!.replace("Z", "");
  clock = clock.replace(/\.?0+$/, "");
  return `${date} ${clock} +0000 UTC`;
}

function identities(t: Pick<ACLToken, "ServiceIdentities" | "NodeIdentities">, out: string[]): void {
  if (t.ServiceIdentities?.length) {
    out.push("Service Identities:");
    for (const s of t.ServiceIdentities) out.push(`   ${s.ServiceName} (Datacenters: ${s.Datacenters?.length ? s.Datacenters.join(", ") : "all"})`);
  }
  if (t.NodeIdentities?.length) {
    out.push("Node Identities:");
    for (const n of t.NodeIdentities) out.push(`   ${n.NodeName} (Datacenter: ${n.Datacenter})`);
  }
}

export function formatToken(t: ACLToken): string {
  const out = [
    `AccessorID:       ${t.AccessorID}`,
    `SecretID:         ${t.SecretID}`,
    `Description:      ${t.Description}`,
    `Local:            ${t.Local}`,
  ];
  if (t.AuthMethod) out.push(`Auth Method:      ${t.AuthMethod}`);
  out.push(`Create Time:      ${goTime(t.CreateTime)}`);
  if (t.ExpirationTime) out.push(`Expiration Time:  ${goTime(t.ExpirationTime)}`);
  if (t.Policies?.length) {
    out.push("Policies:");
    for (const p of t.Policies) out.push(`   ${p.ID} - ${p.Name}`);
  }
  if (t.Roles?.length) {
    out.push("Roles:");
    for (const r of t.Roles) out.push(`   ${r.ID} - ${r.Name}`);
  }
  identities(t, out);
  return out.join("\n");
}

export function formatTokenList(tokens: ACLToken[]): string {
  return tokens.map(formatToken).join("\n\n");
}

export function formatPolicy(p: ACLPolicy): string {
  return [
    `ID:           ${p.ID}`,
    `Name:         ${p.Name}`,
    `Description:  ${p.Description}`,
    `Datacenters:  ${(p.Datacenters ?? []).join(", ")}`,
    "Rules:",
    p.Rules,
  ].join("\n");
}

export function formatPolicyList(list: ACLPolicyListEntry[]): string {
  return list
    .map((p) => [`${p.Name}:`, `   ID:           ${p.ID}`, `   Description:  ${p.Description}`, `   Datacenters:  ${(p.Datacenters ?? []).join(", ")}`].join("\n"))
    .join("\n");
}

export function formatRole(r: ACLRole): string {
  const out = [`ID:           ${r.ID}`, `Name:         ${r.Name}`, `Description:  ${r.Description}`];
  if (r.Policies?.length) {
    out.push("Policies:");
    for (const p of r.Policies) out.push(`   ${p.ID} - ${p.Name}`);
  }
  identities(r, out);
  return out.join("\n");
}

export function formatRoleList(list: ACLRole[]): string {
  return list.map((r) => `${r.Name}:\n${formatRole(r).split("\n").map((l) => `   ${l}`).join("\n")}`).join("\n");
}

/** `-format`: "pretty" (default) or "json" (the API's JSON, indented as Consul's). */
export function render<T>(format: string, value: T, pretty: (v: T) => string): string {
  return format === "json" ? JSON.stringify(value, null, 4) : pretty(value);
}

/** `-service-identity "name[:dc1,dc2]"`. */
export function parseServiceIdentity(raw: string): { ServiceName: string; Datacenters?: string[] } {
  const [name, dcs] = raw.split(":", 2);
  if (!name) throw new Error(`Malformed -service-identity argument: ${JSON.stringify(raw)}`);
  return dcs ? { ServiceName: name, Datacenters: dcs.split(",").filter((d) => d !== "") } : { ServiceName: name };
}

/** `-node-identity "node:dc"`. */
export function parseNodeIdentity(raw: string): { NodeName: string; Datacenter: string } {
  const [name, dc] = raw.split(":", 2);
  if (!name || !dc) throw new Error(`Malformed -node-identity argument: ${JSON.stringify(raw)}`);
  return { NodeName: name, Datacenter: dc };
}

/** Consul's auth method formatter: fields, then the Config as indented JSON. */
export function formatAuthMethod(m: ACLAuthMethodListEntry & { Config?: Record<string, unknown> }): string {
  const out = [`Name:          ${m.Name}`, `Type:          ${m.Type}`];
  if (m.DisplayName) out.push(`DisplayName:   ${m.DisplayName}`);
  out.push(`Description:   ${m.Description}`);
  if (m.MaxTokenTTL) out.push(`MaxTokenTTL:   ${m.MaxTokenTTL}`);
  if (m.TokenLocality) out.push(`TokenLocality: ${m.TokenLocality}`);
  if (m.Config !== undefined) out.push("Config:", JSON.stringify(m.Config, null, 2));
  return out.join("\n");
}

export function formatAuthMethodList(methods: ACLAuthMethodListEntry[]): string {
  return methods
    .map((m) => {
      const out = [`${m.Name}:`, `   Type:         ${m.Type}`];
      if (m.DisplayName) out.push(`   DisplayName:  ${m.DisplayName}`);
      out.push(`   Description:  ${m.Description}`);
      return out.join("\n");
    })
    .join("\n");
}

export function formatBindingRule(r: ACLBindingRule): string {
  return [`ID:           ${r.ID}`, `AuthMethod:   ${r.AuthMethod}`, `Description:  ${r.Description}`, `BindType:     ${r.BindType}`, `BindName:     ${r.BindName}`, `Selector:     ${r.Selector}`].join("\n");
}

export function formatBindingRuleList(rules: ACLBindingRule[]): string {
  return rules
    .map((r) => [`${r.ID}:`, `   AuthMethod:   ${r.AuthMethod}`, `   Description:  ${r.Description}`, `   BindType:     ${r.BindType}`, `   BindName:     ${r.BindName}`, `   Selector:     ${r.Selector}`].join("\n"))
    .join("\n\n");
}
