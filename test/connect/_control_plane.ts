/**
 * A stand-in for the agent's Connect endpoints, for data-plane unit tests:
 * leaf certificates, roots, intention match, config entries and connect
 * health, each a blocking query over one change index. The end-to-end tests
 * run the same proxies against a real agent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { intentionPrecedence, sortByPrecedence } from "../../src/connect/mod.ts";
import { compileChain, renderChain } from "../../src/connect/discoverychain/mod.ts";
import { decodeConfigEntry } from "../../src/configentry/registry.ts";
import type { Intention, IntentionPermission } from "../../src/structs/intention.ts";
import { checkServiceNodeSchema, compileFilter } from "../../src/filter/mod.ts";
import { crossSign, makeCa, makeLeaf, type TestCa, type TestLeaf, TRUST_DOMAIN } from "./_certs.ts";

export interface Instance {
  readonly address: string;
  readonly port: number;
  readonly id: string;
  passing?: boolean;
  /** "warning" is passing for subsets that are not OnlyPassing, and not for `?passing`. */
  status?: "warning";
  meta?: Record<string, string>;
}

/** A mesh gateway instance as the catalog lists it (`lan` is its address, `wan` its tagged WAN address). */
export interface GatewayInstance {
  readonly id: string;
  readonly lan: { address: string; port: number };
  readonly wan: { address: string; port: number };
  passing?: boolean;
}

export class FakeControlPlane {
  index = 1;
  datacenter = "dc1";
  /** Other datacenters' control planes, answering `?dc=<name>` (cross-datacenter forwarding). */
  readonly peers = new Map<string, FakeControlPlane>();
  /** Mesh gateways by service name. */
  readonly gateways = new Map<string, GatewayInstance[]>();
  ca!: TestCa;
  extraRoots: { ID: string; RootCert: string; IntermediateCerts: string[] }[] = [];
  readonly leaves = new Map<string, TestLeaf>();
  readonly intentions: Intention[] = [];
  readonly entries = new Map<string, Record<string, unknown>>();
  readonly instances = new Map<string, Instance[]>();
  defaultPolicy: "allow" | "deny" = "allow";
  /** When true, every request fails with a reset (the agent is "down"). */
  down = false;
  requests = 0;
  /** The longest a blocking query is held (tests want changes fast; benches set Consul's real waits so the watches stay quiet). */
  maxWaitMs = 2_000;
  /** Every request's path and X-Consul-Token, in order. */
  readonly seen: { token: string; path: string }[] = [];
  private server!: Server;
  private waiters: (() => void)[] = [];

  static async start(o: { datacenter?: string; ca?: TestCa } = {}): Promise<FakeControlPlane> {
    const cp = new FakeControlPlane();
    cp.datacenter = o.datacenter ?? "dc1";
    cp.ca = o.ca ?? (await makeCa("Consul CA 1"));
    cp.server = createServer((req, res) => void cp.handle(req, res));
    await new Promise<void>((r) => cp.server.listen(0, "127.0.0.1", () => r()));
    return cp;
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.bump();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  bump(): void {
    this.index++;
    const w = this.waiters.splice(0);
    for (const f of w) f();
  }

  /** The active root's cross-signed certificate (by the previous root), appended to new leaves. */
  crossPem = "";
  rootId = "root-1";

  async issueLeaf(service: string): Promise<TestLeaf> {
    const made = await makeLeaf(this.ca, service, { datacenter: this.datacenter });
    const leaf = { ...made, certPem: made.certPem + this.crossPem };
    this.leaves.set(service, leaf);
    this.bump();
    return leaf;
  }

  /**
   * Consul's root rotation: a new root, cross-signed by the old one, becomes
   * active; the old stays trusted. Leaves are re-issued one by one (reissue).
   */
  async rotate(): Promise<void> {
    const next = await makeCa(`Consul CA ${this.extraRoots.length + 2}`);
    this.crossPem = await crossSign(next, this.ca);
    this.extraRoots.push({ ID: this.rootId, RootCert: this.ca.pem, IntermediateCerts: [] });
    this.ca = next;
    this.rootId = `root-${this.extraRoots.length + 1}`;
    this.bump();
  }

  intention(source: string, destination: string, action: "allow" | "deny" | null, permissions?: IntentionPermission[]): void {
    const i = this.intentions.findIndex((x) => x.SourceName === source && x.DestinationName === destination);
    if (i !== -1) this.intentions.splice(i, 1);
    if (action !== null || permissions) {
      this.intentions.push({
        SourceNS: "default",
        SourceName: source,
        DestinationNS: "default",
        DestinationName: destination,
        SourceType: "consul",
        ...(permissions ? { Permissions: permissions } : { Action: action! }),
        Precedence: intentionPrecedence("default", source, "default", destination),
        CreateIndex: this.index,
        ModifyIndex: this.index,
      });
    }
    this.bump();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    this.seen.push({ token: String(req.headers["x-consul-token"] ?? ""), path: (req.url ?? "").split("?")[0]! });
    if (this.seen.length > 10_000) this.seen.splice(0, 5_000);
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? "/", "http://x");
    const dc = url.searchParams.get("dc");
    if (dc && dc !== this.datacenter) {
      const peer = this.peers.get(dc);
      if (peer) return peer.handle(req, res);
      res.writeHead(500).end("No path to datacenter");
      return;
    }
    const minIndex = Number(url.searchParams.get("index") ?? "0");
    if (minIndex > 0 && minIndex >= this.index) {
      const wait = Math.min(Number((url.searchParams.get("wait") ?? "1000ms").replace("ms", "")), this.maxWaitMs);
      await new Promise<void>((r) => {
        const t = setTimeout(r, wait);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "x-consul-index": String(this.index), "x-consul-default-acl-policy": this.defaultPolicy });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };
    const p = url.pathname;
    let m: RegExpExecArray | null;
    if ((m = /^\/v1\/agent\/connect\/ca\/leaf\/(.+)$/.exec(p))) {
      const leaf = this.leaves.get(m[1]!) ?? (await this.issueLeaf(m[1]!));
      return send(200, {
        SerialNumber: leaf.serial,
        CertPEM: leaf.certPem,
        PrivateKeyPEM: leaf.keyPem,
        Service: m[1],
        ServiceURI: `spiffe://${TRUST_DOMAIN}/ns/default/dc/${this.datacenter}/svc/${m[1]}`,
        ValidAfter: leaf.notBefore.toISOString(),
        ValidBefore: leaf.notAfter.toISOString(),
      });
    }
    if (p === "/v1/agent/connect/ca/roots") {
      return send(200, {
        ActiveRootID: this.rootId,
        TrustDomain: TRUST_DOMAIN,
        Roots: [{ ID: this.rootId, RootCert: this.ca.pem, IntermediateCerts: this.crossPem ? [this.crossPem] : null, Active: true }, ...this.extraRoots.map((r) => ({ ...r, Active: false }))],
      });
    }
    if (p === "/v1/connect/intentions/match") {
      const name = url.searchParams.get("name") ?? "";
      const list = sortByPrecedence(this.intentions.filter((i) => i.DestinationName === name || i.DestinationName === "*"));
      return send(200, { [name]: list });
    }
    if (p === "/v1/connect/intentions/check") {
      const src = url.searchParams.get("source") ?? "";
      const dst = url.searchParams.get("destination") ?? "";
      const hit = sortByPrecedence(this.intentions.filter((i) => (i.DestinationName === dst || i.DestinationName === "*") && (i.SourceName === src || i.SourceName === "*")))[0];
      return send(200, { Allowed: hit ? hit.Action === "allow" : this.defaultPolicy === "allow" });
    }
    if ((m = /^\/v1\/config\/([^/]+)$/.exec(p))) {
      const kind = m[1];
      return send(200, [...this.entries.values()].filter((e) => e.Kind === kind));
    }
    if ((m = /^\/v1\/config\/([^/]+)\/(.+)$/.exec(p))) {
      const e = this.entries.get(`${m[1]}/${m[2]}`);
      return e ? send(200, e) : send(404, `Config entry not found for "${m[1]}" / "${m[2]}"`);
    }
    if (p === "/v1/catalog/datacenters") return send(200, [this.datacenter, ...this.peers.keys()].sort());
    if (p === "/v1/agent/self") return send(200, { Config: { Datacenter: this.datacenter, NodeName: "n1" }, Member: { Addr: "127.0.0.1" } });
    if (p === "/v1/catalog/services") {
      const filter = url.searchParams.get("filter") ?? "";
      const names = filter.includes("mesh-gateway") ? [...this.gateways.keys()] : [...this.instances.keys(), ...this.gateways.keys()];
      return send(200, Object.fromEntries(names.map((n) => [n, []])));
    }
    if ((m = /^\/v1\/health\/service\/(.+)$/.exec(p))) {
      const list = (this.gateways.get(m[1]!) ?? []).filter((g) => g.passing !== false || !url.searchParams.has("passing"));
      return send(
        200,
        list.map((g) => ({
          Node: { Node: "n1", Address: "127.0.0.1" },
          Service: { ID: g.id, Kind: "mesh-gateway", Address: g.lan.address, Port: g.lan.port, TaggedAddresses: { lan: { Address: g.lan.address, Port: g.lan.port }, wan: { Address: g.wan.address, Port: g.wan.port } } },
          Checks: [],
        })),
      );
    }
    if ((m = /^\/v1\/health\/connect\/(.+)$/.exec(p))) {
      const list = (this.instances.get(m[1]!) ?? []).filter((i) => (i.passing !== false && i.status === undefined) || !url.searchParams.has("passing"));
      const rows = list.map((i) => ({
        Node: { Node: "n1", Address: "127.0.0.1" },
        Service: { ID: i.id, Service: m![1], Address: i.address, Port: i.port, Meta: i.meta ?? {} },
        Checks: i.passing === false ? [{ Status: "critical" }] : i.status ? [{ Status: i.status }] : [],
      }));
      const filter = url.searchParams.get("filter");
      return send(200, filter ? rows.filter(compileFilter(filter, checkServiceNodeSchema)) : rows);
    }
    if ((m = /^\/v1\/discovery-chain\/(.+)$/.exec(p))) {
      const entries = [...this.entries.values()].map((e) => decodeConfigEntry(e));
      const lookup = { get: (k: string, n: string) => entries.find((e) => e.Kind === k && e.Name === n), list: (k: string) => entries.filter((e) => e.Kind === k) };
      const chain = compileChain({ serviceName: m[1]!, datacenter: url.searchParams.get("compile-dc") || "dc1", trustDomain: TRUST_DOMAIN, entries: lookup });
      return send(200, { Chain: renderChain(chain) });
    }
    send(404, "404 page not found");
  }
}
