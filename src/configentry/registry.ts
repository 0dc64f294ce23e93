/**
 * The config entry kinds and the three steps every write goes through before
 * it reaches the log: decode (Consul's DecodeConfigEntry), normalize and
 * validate (the entry's own Normalize/Validate). Rendering writes a stored
 * entry back as Consul's JSON.
 */
import { oversizedString, stringProblem } from "../structs/limits.ts";
import { decodeWithSchema, formatDecodeErrors, formatMultiError } from "./decode.ts";
import { encodeWithSchema } from "./encode.ts";
import { chainTargets, serviceResolver, serviceRouter, serviceSplitter } from "./kinds/chain.ts";
import { proxyDefaults, serviceDefaults } from "./kinds/defaults.ts";
import { apiGateway, fileSystemCertificate, httpRoute, inlineCertificate, tcpRoute } from "./kinds/apigw.ts";
import { ingressGateway, terminatingGateway } from "./kinds/gateways.ts";
import { jwtProvider } from "./kinds/jwt.ts";
import { serviceIntentions } from "./kinds/intentions.ts";
import type { EntryBody, KindDef } from "./kinds/kind.ts";
import { exportedServices, mesh } from "./kinds/mesh.ts";
import { isObject } from "../structs/json.ts";

export const ConfigEntryKind = {
  ServiceDefaults: "service-defaults",
  ProxyDefaults: "proxy-defaults",
  ServiceRouter: "service-router",
  ServiceSplitter: "service-splitter",
  ServiceResolver: "service-resolver",
  IngressGateway: "ingress-gateway",
  TerminatingGateway: "terminating-gateway",
  ServiceIntentions: "service-intentions",
  Mesh: "mesh",
  ExportedServices: "exported-services",
  APIGateway: "api-gateway",
  HTTPRoute: "http-route",
  TCPRoute: "tcp-route",
  InlineCertificate: "inline-certificate",
  FileSystemCertificate: "file-system-certificate",
  JWTProvider: "jwt-provider",
} as const;
export type ConfigEntryKind = (typeof ConfigEntryKind)[keyof typeof ConfigEntryKind];

const KINDS: ReadonlyMap<string, KindDef> = new Map(
  [
    serviceDefaults,
    proxyDefaults,
    serviceRouter,
    serviceSplitter,
    serviceResolver,
    ingressGateway,
    terminatingGateway,
    serviceIntentions,
    mesh,
    exportedServices,
    apiGateway,
    httpRoute,
    tcpRoute,
    inlineCertificate,
    fileSystemCertificate,
    jwtProvider,
  ].map((k) => [k.kind, k]),
);

/** A request body Consul's decoder refuses; answered 400 "Request decoding failed: <message>". */
export class ConfigEntryDecodeError extends Error {
  override readonly name = "ConfigEntryDecodeError";
}

/** An unknown kind (Consul's MakeConfigEntry error). */
export class InvalidKindError extends Error {
  override readonly name = "InvalidKindError";
  constructor(kind: string) {
    super(`invalid config entry kind: ${kind}`);
  }
}

export function kindDef(kind: string): KindDef {
  const def = KINDS.get(kind);
  if (!def) throw new InvalidKindError(kind);
  return def;
}

export function isKnownKind(kind: string): boolean {
  return KINDS.has(kind);
}

export const allKinds = (): string[] => [...KINDS.keys()];

/** Consul's CE validateUnusedKeys over the decoder's unused keys. */
function unusedKeyProblems(unused: readonly string[]): string[] {
  const out: string[] = [];
  for (const k of unused) {
    if (k === "CreateIndex" || k === "ModifyIndex" || k === "kind" || k === "Kind") continue;
    if (k.toLowerCase().endsWith("namespace")) out.push(`invalid config key ${JSON.stringify(k)}, namespaces are a consul enterprise feature`);
    else if (k.toLowerCase().includes("jwt")) out.push(`invalid config key ${JSON.stringify(k)}, api-gateway jwt validation is a consul enterprise feature`);
    else out.push(`invalid config key ${JSON.stringify(k)}`);
  }
  return out;
}

/**
 * Decodes a request body into an entry of its kind: `Kind` (or `kind`) picks
 * the schema; field names are case-insensitive with snake_case aliases;
 * unknown fields and values of the wrong type are refused with Consul's text.
 */
export function decodeConfigEntry(raw: unknown): EntryBody {
  if (!isObject(raw)) throw new ConfigEntryDecodeError("Payload does not contain a kind/Kind key at the top level");
  const kindVal = "Kind" in raw ? raw.Kind : raw.kind;
  if (kindVal === undefined) throw new ConfigEntryDecodeError("Payload does not contain a kind/Kind key at the top level");
  if (typeof kindVal !== "string") throw new ConfigEntryDecodeError("Kind value in payload is not a string");
  const def = KINDS.get(kindVal);
  if (!def) throw new ConfigEntryDecodeError(`invalid config entry kind: ${kindVal}`);
  const name = raw.Name ?? raw.name;
  const tooBig = (typeof name === "string" ? stringProblem("Name", name) : null) ?? oversizedString(raw, "");
  if (tooBig !== null) throw new ConfigEntryDecodeError(tooBig);
  const { value, errors, unused } = decodeWithSchema(raw, def.schema);
  if (errors.length > 0) throw new ConfigEntryDecodeError(formatDecodeErrors(errors));
  const problems = unusedKeyProblems(unused);
  if (problems.length > 0) throw new ConfigEntryDecodeError(formatMultiError(problems));
  const entry = (value ?? {}) as EntryBody;
  entry.Kind = def.kind;
  if (typeof entry.Name !== "string") entry.Name = "";
  return entry;
}

/** Normalize then Validate (throws EntryValidationError). */
export function normalizeAndValidate(entry: EntryBody): void {
  const def = kindDef(entry.Kind);
  def.normalize(entry);
  def.validate(entry);
}

/** An entry as the state store keeps it. */
export interface StoredConfigEntry {
  readonly Kind: string;
  readonly Name: string;
  readonly Entry: EntryBody;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** The entry as Consul's HTTP API returns it: the struct's JSON, then CreateIndex and ModifyIndex. */
export function renderConfigEntry(row: StoredConfigEntry): Record<string, unknown> {
  const def = kindDef(row.Kind);
  const body = encodeWithSchema(row.Entry, def.schema) as Record<string, unknown>;
  body.Kind = row.Kind;
  return { ...body, CreateIndex: row.CreateIndex, ModifyIndex: row.ModifyIndex };
}

/** Other services a discovery-chain entry refers to. */
export { chainTargets };
