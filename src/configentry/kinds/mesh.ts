/** `mesh` (config_entry_mesh.go) and `exported-services` (config_entry_exports.go). */
import { meta } from "./common.ts";
import { arr, fail, type KindDef, metaProblems, o, Problems, s, smap, TLS_VERSIONS } from "./kind.ts";
import { bool, list, ptr, str, struct } from "../schema.ts";

const directionalTls = struct(["TLSMinVersion", str, "o", ["tls_min_version"]], ["TLSMaxVersion", str, "o", ["tls_max_version"]], ["CipherSuites", list(str), "o"]);
const requestNormalization = struct(
  ["InsecureDisablePathNormalization", bool],
  ["MergeSlashes", bool],
  ["PathWithEscapedSlashesAction", str],
  ["HeadersWithUnderscoresAction", str],
);

/** The mesh entry has no Name field: its name is always "mesh". */
export const meshSchema = struct(
  ["Kind", str],
  ["TransparentProxy", struct(["MeshDestinationsOnly", bool])],
  ["AllowEnablingPermissiveMutualTLS", bool, "o", ["allow_enabling_permissive_mutual_tls"]],
  ["ValidateClusters", bool, "o"],
  ["TLS", ptr(struct(["Incoming", ptr(directionalTls), "o"], ["Outgoing", ptr(directionalTls), "o"])), "o", ["tls"]],
  ["HTTP", ptr(struct(["SanitizeXForwardedClientCert", bool], ["Incoming", ptr(struct(["RequestNormalization", ptr(requestNormalization), "o"])), "o"])), "o", ["http"]],
  ["Peering", ptr(struct(["PeerThroughMeshGateways", bool])), "o"],
  meta,
);

export const MESH_NAME = "mesh";

const ESCAPED_SLASHES = ["IMPLEMENTATION_SPECIFIC_DEFAULT", "KEEP_UNCHANGED", "REJECT_REQUEST", "UNESCAPE_AND_REDIRECT", "UNESCAPE_AND_FORWARD"];
const UNDERSCORES = ["ALLOW", "REJECT_REQUEST", "DROP_HEADER"];

export const mesh: KindDef = {
  kind: "mesh",
  schema: meshSchema,
  normalize(e) {
    e.Kind = "mesh";
    e.Name = MESH_NAME;
  },
  validate(e) {
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    p.throwIfAny();
    const tls = o(e, "TLS");
    for (const dir of ["Incoming", "Outgoing"] as const) {
      const cfg = o(tls, dir);
      if (!cfg) continue;
      for (const k of ["TLSMinVersion", "TLSMaxVersion"]) {
        const v = s(cfg, k);
        if (v !== "" && !TLS_VERSIONS.has(v)) fail(`error in ${dir.toLowerCase()} TLS configuration: TLS version ${JSON.stringify(v)} is not supported`);
      }
    }
    const rn = o(o(o(e, "HTTP"), "Incoming"), "RequestNormalization");
    if (rn) {
      const esc = s(rn, "PathWithEscapedSlashesAction");
      if (esc !== "" && !ESCAPED_SLASHES.includes(esc)) {
        fail(`error in HTTP incoming request normalization configuration: no matching PathWithEscapedSlashesAction value found for ${esc}, please specify one of [${ESCAPED_SLASHES.join(" ")}]`);
      }
      const und = s(rn, "HeadersWithUnderscoresAction");
      if (und !== "" && !UNDERSCORES.includes(und)) {
        fail(`error in HTTP incoming request normalization configuration: no matching HeadersWithUnderscoresAction value found for ${und}, please specify one of [${UNDERSCORES.join(" ")}]`);
      }
    }
  },
};

const consumer = struct(["Peer", str, "o", ["peer_name"]], ["SamenessGroup", str, "o"]);
export const exportedServicesSchema = struct(["Kind", str], ["Name", str], ["Services", list(struct(["Name", str], ["Consumers", list(consumer)])), "o"], meta);

export const exportedServices: KindDef = {
  kind: "exported-services",
  schema: exportedServicesSchema,
  normalize(e) {
    e.Kind = "exported-services";
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    if (e.Name !== "default") fail(`exported-services Name must be "default"`);
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    p.throwIfAny();
    const seen = new Set<string>();
    arr(e, "Services").forEach((svc, i) => {
      const name = s(svc, "Name");
      if (name === "") fail(`Services[${i}]: service name cannot be empty`);
      if (seen.has(name)) fail(`Services[${i}]: duplicate entry for service ${JSON.stringify(name)}`);
      seen.add(name);
      const consumers = arr(svc, "Consumers");
      if (consumers.length === 0) fail(`Services[${i}]: must have at least one consumer`);
      consumers.forEach((c, j) => {
        const set = [s(c, "Peer"), s(c, "SamenessGroup")].filter((x) => x !== "").length;
        if (set !== 1) fail(`Services[${i}].Consumers[${j}]: must define exactly one of Peer, Partition, or SamenessGroup`);
        if (s(c, "Peer") === "*") fail(`Services[${i}].Consumers[${j}].Peer: exporting to all peers (wildcard) is not supported`);
      });
    });
  },
};
