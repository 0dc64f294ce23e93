/** The UI's whole-catalog reads (Consul's Internal.ServiceDump): each instance with its node's checks and its own. */
import { expect, test } from "bun:test";
import { StateStore } from "../../src/state/mod.ts";
import { serviceDump } from "../../src/state/ui_read.ts";
import { check, register, registration, service } from "./helpers.ts";

test("each instance of the dump carries its node's checks and its own, in CheckID order, and no other service's", () => {
  const store = new StateStore();
  register(store, 1, registration("n1", { Checks: [check("n1", "b-node"), check("n1", "d-node")] }));
  let index = 2;
  for (const id of ["web1", "web2", "api1"]) register(store, index++, registration("n1", { Service: service(id, id.replace(/\d$/, "")) }));
  register(store, index++, registration("n1", { Checks: [check("n1", "a-web1", { ServiceID: "web1" }), check("n1", "c-web1", { ServiceID: "web1" }), check("n1", "e-web2", { ServiceID: "web2" })] }));
  register(store, index++, registration("n2", { Address: "10.0.0.2", Service: service("web3", "web"), Checks: [check("n2", "z-web3", { ServiceID: "web3" })] }));
  const rows = serviceDump(store.t).value.Nodes;
  const of = (id: string) => rows.find((r) => r.Service.ID === id)!.Checks.map((c) => c.CheckID);
  expect(rows.map((r) => r.Service.ID)).toEqual(["api1", "web1", "web2", "web3"]);
  expect(of("web1")).toEqual(["a-web1", "b-node", "c-web1", "d-node"]);
  expect(of("web2")).toEqual(["b-node", "d-node", "e-web2"]);
  expect(of("api1")).toEqual(["b-node", "d-node"]);
  expect(of("web3")).toEqual(["z-web3"]);
});
