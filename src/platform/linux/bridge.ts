/**
 * ensureBridge / removeBridge. Ownership: the bridge's IFLA_IFALIAS is "vmlan:<network name>";
 * an interface with our name but another alias is someone else's and is never touched.
 */
import { IFA_F_NODAD } from "../../../ffi/netlink/constants.ts";
import { AF_INET6, IFF_UP } from "../../../ffi/libc/constants.ts";
import { ConflictError } from "../../core/errors.ts";
import { checkIfname, type Cidr, formatAddress } from "./ip.ts";
import { addAddr, type Addr, createLink, delAddr, deleteLink, getLink, type Link, listAddrs, setLink } from "./links.ts";
import type { Netlink } from "./netlink.ts";

export const ALIAS_PREFIX = "vmlan:";
export const aliasFor = (network: string) => `${ALIAS_PREFIX}${network}`;

export interface BridgeSpec {
  name: string;
  /** Network name; the alias marks the bridge as ours. */
  network: string;
  mtu: number;
  /** Gateway addresses with the subnet's prefix length, e.g. 192.168.64.1/24. */
  addresses: Cidr[];
}

/** Throws ConflictError unless `link` carries our alias. */
export function assertOurs(link: Link, network: string): void {
  if (link.alias !== aliasFor(network)) {
    const who = link.alias ? `alias "${link.alias}"` : "no vmlan alias";
    throw new ConflictError(`interface ${link.name} exists and is not vmlan's network "${network}" (${who}); rename the network or remove the interface`, {
      details: { interface: link.name, alias: link.alias },
    });
  }
  if (link.kind !== "bridge") throw new ConflictError(`interface ${link.name} is a ${link.kind ?? "device"}, not a bridge`);
}

/** Creates the bridge if missing, then makes MTU, alias, addresses and link state right. Returns its index. */
export function ensureBridge(nl: Netlink, spec: BridgeSpec): number {
  checkIfname(spec.name);
  let link = getLink(nl, spec.name);
  if (link) assertOurs(link, spec.network);
  else {
    createLink(nl, spec.name, "bridge", spec.mtu);
    link = getLink(nl, spec.name)!;
    try {
      // The alias is set in its own request (rtnl_create_link applies only a few attributes);
      // a bridge left without it would be refused as foreign later, hence the cleanup.
      setLink(nl, link.index, spec.name, { alias: aliasFor(spec.network) });
    } catch (e) {
      deleteLink(nl, link.index, spec.name);
      throw e;
    }
  }
  if (link.mtu !== spec.mtu) setLink(nl, link.index, spec.name, { mtu: spec.mtu });
  ensureAddresses(nl, link.index, spec);
  if (!(link.flags & IFF_UP)) setLink(nl, link.index, spec.name, { up: true });
  return link.index;
}

const sameAddr = (a: Addr, c: Cidr) =>
  a.family === c.family && a.prefixlen === c.prefix && a.address.every((b, i) => b === c.bytes[i]);

/** Adds missing gateway addresses and drops stale global ones (e.g. from an earlier subnet). */
function ensureAddresses(nl: Netlink, index: number, spec: BridgeSpec): void {
  const have = listAddrs(nl, index);
  for (const a of have) {
    const linkLocal = a.family === AF_INET6 && a.address[0] === 0xfe && (a.address[1]! & 0xc0) === 0x80;
    if (!linkLocal && !spec.addresses.some((c) => sameAddr(a, c))) delAddr(nl, a, `${formatAddress(a.address)}/${a.prefixlen} on ${spec.name}`);
  }
  for (const c of spec.addresses) {
    if (have.some((a) => sameAddr(a, c))) continue;
    // No DAD for v6: the gateway address is ours by construction and DAD would delay it ~1 s.
    const flags = c.family === AF_INET6 ? IFA_F_NODAD : 0;
    addAddr(nl, { family: c.family, address: c.bytes, prefixlen: c.prefix, flags, index }, `${c.text} on ${spec.name}`);
  }
}

/** Deletes our bridge; a missing one is fine, someone else's is a ConflictError. */
export function removeBridge(nl: Netlink, name: string, network: string): void {
  checkIfname(name);
  const link = getLink(nl, name);
  if (!link) return;
  assertOurs(link, network);
  deleteLink(nl, link.index, name);
}
