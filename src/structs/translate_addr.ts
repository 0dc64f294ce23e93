/**
 * WAN address translation (Consul's agent/translate_addr.go): with
 * `translate_wan_addrs` on, addresses of nodes and services in another
 * datacenter are given as their `wan` / `wan_ipv4` / `wan_ipv6` tagged
 * addresses (and a service's `wan` port), so the asker gets an address it can
 * reach. DNS answers and the HTTP catalog, health and prepared-query reads
 * both use these rules.
 */
import type { Node, ServiceAddress } from "./catalog.ts";

/** Which address families an answer can use (dnsutil.TranslateAddressAccept). */
export const Accept = { Domain: 1, IPv4: 2, IPv6: 4, Any: ~0 } as const;

function chooseAddress(accept: number, def: string, v4: string, v6: string): string {
  if (accept & Accept.IPv6 && v6 !== "") return v6;
  if (accept & Accept.IPv4 && v4 !== "") return v4;
  // Any non-zero accept has a bit in common with Any, so a default always wins here.
  if (def !== "") return def;
  return "";
}

/** A node's address; `wan` picks its WAN tagged addresses over the LAN ones. */
export function translateNodeAddr(wan: boolean, node: Pick<Node, "Address" | "TaggedAddresses">, accept: number): string {
  const tagged = node.TaggedAddresses ?? {};
  let def = node.Address;
  let v4 = tagged.lan_ipv4 ?? "";
  let v6 = tagged.lan_ipv6 ?? "";
  if (wan) {
    if (tagged.wan !== undefined) def = tagged.wan;
    if (tagged.wan_ipv4 !== undefined) v4 = tagged.wan_ipv4;
    if (tagged.wan_ipv6 !== undefined) v6 = tagged.wan_ipv6;
  }
  return chooseAddress(accept, def, v4, v6);
}

export function translateServiceAddr(wan: boolean, address: string, tagged: Readonly<Record<string, ServiceAddress>> | undefined, accept: number): string {
  const t = tagged ?? {};
  let def = address;
  let v4 = t.lan_ipv4?.Address ?? "";
  let v6 = t.lan_ipv6?.Address ?? "";
  if (wan) {
    if (t.wan) def = t.wan.Address;
    if (t.wan_ipv4) v4 = t.wan_ipv4.Address;
    if (t.wan_ipv6) v6 = t.wan_ipv6.Address;
  }
  return chooseAddress(accept, def, v4, v6);
}

export function translateServicePortFor(wan: boolean, port: number, tagged: Readonly<Record<string, ServiceAddress>> | undefined): number {
  const w = tagged?.wan;
  return wan && w && w.Port !== 0 ? w.Port : port;
}
