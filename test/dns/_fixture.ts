/**
 * DNS handler tests drive `handleDns` over a real state store: catalog
 * registrations applied with explicit indexes, queries built and answers
 * decoded with dns-packet, a seeded random source and a fixed clock.
 */
import dnsPacket from "dns-packet";
import { type DnsConfig, type DnsOptions, handleDns, type Recursor, resolveDnsConfig, StateDnsLookup } from "../../src/dns/mod.ts";
import type { Transport } from "../../src/dns/mod.ts";
import { MessageType, StateStore } from "../../src/state/mod.ts";
import type { HealthCheck, NodeService, RegisterRequest } from "../../src/structs/catalog.ts";
import { check, register, registration, service } from "../state/helpers.ts";

export const NOW_MS = 1_700_000_000_000;

export type Svc = Omit<NodeService, "CreateIndex" | "ModifyIndex">;
export type Chk = Omit<HealthCheck, "CreateIndex" | "ModifyIndex">;

/** A deterministic uniform source (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Catalog {
  readonly store = new StateStore();
  private index = 0;

  node(name: string, address: string, extra: Partial<RegisterRequest> = {}): this {
    register(this.store, ++this.index, registration(name, { Address: address, ...extra }));
    return this;
  }

  service(node: string, address: string, svc: Svc, checks: Chk[] = [], extra: Partial<RegisterRequest> = {}): this {
    register(this.store, ++this.index, registration(node, { Address: address, Service: svc, Checks: checks, ...extra }));
    return this;
  }

  /** Writes a config entry (as normalized and validated entries reach the log). */
  configEntry(entry: Record<string, unknown> & { Kind: string; Name: string }): this {
    const r = this.store.apply(++this.index, { Type: MessageType.ConfigEntry, Now: 0, Op: "upsert", Entry: entry });
    if (!r.ok) throw new Error(r.error);
    return this;
  }

  checks(node: string, address: string, checks: Chk[]): this {
    register(this.store, ++this.index, registration(node, { Address: address, Checks: checks }));
    return this;
  }
}

export { check, service };

export interface Env {
  config: DnsConfig;
  catalog: Catalog;
  recursor?: Recursor | null;
  random?: () => number;
}

export function env(catalog: Catalog, options: Partial<DnsOptions> = {}, top: { domain?: string; altDomain?: string; recursors?: string[]; datacenter?: string } = {}): Env {
  const config = resolveDnsConfig({
    datacenter: top.datacenter ?? "dc1",
    nodeName: "server1",
    domain: top.domain,
    altDomain: top.altDomain,
    recursors: top.recursors,
    options,
  });
  return { config, catalog };
}

export interface QueryOpts {
  transport?: Transport;
  edns?: number;
  subnet?: string;
  id?: number;
}

/** Question types, with ANY (which @types/dns-packet leaves out). */
export type QType = dnsPacket.RecordType | "ANY";

export function queryBytes(name: string, type: QType, o: QueryOpts = {}): Uint8Array {
  const additionals: dnsPacket.Answer[] = [];
  if (o.edns !== undefined) {
    const options: dnsPacket.PacketOpt[] = o.subnet ? [{ code: "CLIENT_SUBNET" as never, ip: o.subnet, sourcePrefixLength: 24, scopePrefixLength: 0, family: 1 } as dnsPacket.PacketOpt] : [];
    additionals.push({ type: "OPT", name: ".", udpPayloadSize: o.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options } as dnsPacket.OptAnswer);
  }
  return new Uint8Array(dnsPacket.encode({ type: "query", id: o.id ?? 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as dnsPacket.RecordType, name, class: "IN" }], additionals }));
}

/** A decoded message with the fields dns-packet fills in but its types leave optional or out. */
export interface Decoded {
  readonly id: number;
  readonly type: string;
  readonly flags: number;
  readonly rcode: string;
  readonly questions: dnsPacket.Question[];
  readonly answers: dnsPacket.Answer[];
  readonly authorities: dnsPacket.Answer[];
  readonly additionals: dnsPacket.Answer[];
  readonly raw: Uint8Array;
}

export function decode(bytes: Uint8Array): Decoded {
  const d = dnsPacket.decode(Buffer.from(bytes)) as dnsPacket.DecodedPacket & { rcode: string };
  return {
    id: d.id ?? 0,
    type: d.type ?? "",
    flags: d.flags ?? 0,
    rcode: d.rcode,
    questions: d.questions ?? [],
    answers: d.answers ?? [],
    authorities: d.authorities ?? [],
    additionals: d.additionals ?? [],
    raw: bytes,
  };
}

/** The `data` of a record, whatever its type. */
export function dataOf<T>(a: dnsPacket.Answer): T {
  return (a as unknown as { data: T }).data;
}

export async function ask(e: Env, name: string, type: QType, o: QueryOpts = {}): Promise<Decoded> {
  const lookup = new StateDnsLookup(e.catalog.store, { datacenter: e.config.datacenter, selfNode: "server1" });
  const reply = await handleDns(queryBytes(name, type, o), {
    config: e.config,
    lookup,
    transport: o.transport ?? "udp",
    recursor: e.recursor ?? null,
    random: e.random ?? seeded(1),
    now: () => NOW_MS,
  });
  if (reply === null) throw new Error(`no reply to ${name} ${type}`);
  return decode(reply);
}

/** `name type data` lines of a section, for compact assertions. */
export function rows(section: readonly dnsPacket.Answer[] | undefined): string[] {
  return (section ?? []).filter((a) => a.type !== "OPT").map((a) => {
    const d = (a as { data: unknown }).data;
    let text: string;
    if (a.type === "SRV") {
      const s = d as dnsPacket.SrvData;
      text = `${s.priority} ${s.weight} ${s.port} ${s.target}`;
    } else if (a.type === "TXT") {
      text = (d as Buffer[]).map((b) => b.toString()).join(" ");
    } else if (a.type === "SOA") {
      const s = d as dnsPacket.SoaData;
      text = `${s.mname} ${s.rname}`;
    } else text = String(d);
    return `${a.name} ${a.type} ${text}`;
  });
}

export function ttls(section: readonly dnsPacket.Answer[] | undefined): number[] {
  return (section ?? []).filter((a) => a.type !== "OPT").map((a) => (a as { ttl?: number }).ttl ?? -1);
}

export const AA = dnsPacket.AUTHORITATIVE_ANSWER;
export const TC = dnsPacket.TRUNCATED_RESPONSE;
export const RA = dnsPacket.RECURSION_AVAILABLE;
