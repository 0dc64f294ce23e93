/**
 * ConnectCA.* endpoints (Consul's agent/consul/connect_ca_endpoint.go): the
 * trusted roots, the CA configuration (a change may rotate the root), and
 * leaf signing. Roots are answered with their public fields only.
 */
import { blockingRead } from "./read.ts";
import { type CAConfigUpdate, CONNECT_NOT_ENABLED } from "../ca_options.ts";
import type { Server } from "../server.ts";
import { CAUnavailableError } from "../../connect/errors.ts";
import { trustDomainFor } from "../../connect/spiffe.ts";
import type { AutoEncryptSigned, Empty } from "../../rpc/methods.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { caConfig, caRoots, Topic } from "../../state/mod.ts";
import { type CAConfigJson, caConfigJson, caRootJson, type IndexedCARoots, type IssuedCert } from "../../structs/connect_ca.ts";

function requireConnect(server: Server): void {
  if (!server.ca.enabled) throw new CAUnavailableError(CONNECT_NOT_ENABLED);
}

/** The roots with only their public fields (the signing keys stay in state). */
export function readRoots(server: Server): QueryReply<IndexedCARoots> {
  const t = server.state.t;
  const { index, value } = caRoots(t);
  const config = caConfig(t).value;
  const active = value.find((r) => r.Active);
  return {
    index,
    value: {
      ActiveRootID: active?.ID ?? "",
      TrustDomain: config && config.ClusterID !== "" ? trustDomainFor(config.ClusterID) : "",
      Roots: value.map(caRootJson),
    },
  };
}

/** ConnectCA.Roots: the trusted roots, blocking on the roots table. */
export function roots(server: Server, _args: Empty, opts: RequestOptions): MaybePromise<QueryReply<IndexedCARoots>> {
  requireConnect(server);
  return blockingRead(server, opts, () => [Topic.CARoots], () => readRoots(server));
}

/** ConnectCA.ConfigurationGet. */
export function configurationGet(server: Server, _args: Empty, opts: RequestOptions): MaybePromise<QueryReply<CAConfigJson>> {
  requireConnect(server);
  return blockingRead(server, opts, () => [Topic.CAConfig], () => {
    const { index, value } = caConfig(server.state.t);
    if (!value) throw new CAUnavailableError("CA is not initialized yet");
    return { index, value: caConfigJson(value) };
  });
}

/** ConnectCA.ConfigurationSet: may rotate the root. */
export async function configurationSet(server: Server, args: { readonly Config: CAConfigUpdate }): Promise<true> {
  requireConnect(server);
  await server.ca.updateConfiguration(args.Config);
  return true;
}

/** ConnectCA.Sign: signs a leaf CSR. */
export async function sign(server: Server, args: { readonly CSR: string }): Promise<IssuedCert> {
  requireConnect(server);
  return server.ca.sign(args.CSR);
}

/**
 * AutoEncrypt.Sign (Consul's agent/consul/auto_encrypt_endpoint.go): a client
 * agent's CSR signed by the Connect CA, with the roots and the agent CA it
 * should trust; only on servers with auto_encrypt.allow_tls.
 */
export async function autoEncryptSign(server: Server, args: { readonly CSR: string }): Promise<AutoEncryptSigned> {
  const ae = server.autoEncrypt;
  if (!ae) throw new CAUnavailableError("AutoEncrypt.Sign disabled");
  requireConnect(server);
  const cert = await server.ca.sign(args.CSR);
  if (cert.Agent === undefined || cert.Agent === "") throw new CAUnavailableError("AutoEncrypt.Sign only signs agent certificates");
  return { IssuedCert: cert, ConnectCARoots: readRoots(server).value, ManualCARoots: ae.manualCaRoots(), VerifyServerHostname: ae.verifyServerHostname() };
}
