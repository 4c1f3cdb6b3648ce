/**
 * ensureBridge / removeBridge. Ownership: the bridge's IFLA_IFALIAS is "vmlan:<network name>";
 * an interface with our name but another alias is someone else's and is never touched.
 *
 * Crash safety: the kernel applies IFLA_IFALIAS only in a change request, never in the RTM_NEWLINK
 * that creates a link (rtnl_create_link ignores it, checked on 6.18), so the alias takes a second
 * request, and a vmlan killed between the two used to leave a bridge it would then refuse as
 * foreign for good. The creating request therefore also sets the bridge's MAC to one derived from
 * the network name (bridgeMacFor): a bridge without an alias but with that MAC is ours, half-made,
 * and ensureBridge finishes it (removeBridge removes it). A foreign interface carries a random or
 * copied-from-port MAC, so a match by accident is a 1 in 2^46 event.
 */
import { IFA_F_NODAD } from "../../../ffi/netlink/constants.ts";
import { AF_INET6, IFF_UP } from "../../../ffi/libc/constants.ts";
import { EADDRNOTAVAIL, EEXIST } from "../../../ffi/errno.ts";
import { ConflictError, HostError, SyscallError } from "../../core/errors.ts";
import { checkIfname, type Cidr, formatAddress } from "./ip.ts";
import { addAddr, type Addr, createLink, delAddr, deleteLink, getLink, type Link, listAddrs, setLink } from "./links.ts";
import type { Netlink } from "./netlink.ts";

export const ALIAS_PREFIX = "vmlan:";
export const aliasFor = (network: string) => `${ALIAS_PREFIX}${network}`;

/** The MAC a network's bridge is created with: locally administered, unicast, from the network name. */
export function bridgeMacFor(network: string): Uint8Array {
  const mac = new Uint8Array(new Bun.CryptoHasher("sha256").update(`vmlan-bridge:${network}`).digest().subarray(0, 6));
  mac[0] = (mac[0]! & 0xfc) | 0x02;
  return mac;
}

export interface BridgeSpec {
  name: string;
  /** Network name; the alias marks the bridge as ours. */
  network: string;
  mtu: number;
  /** Gateway addresses with the subnet's prefix length, e.g. 192.168.64.1/24; null leaves addresses alone (bridged.ts moves them). */
  addresses: Cidr[] | null;
  /**
   * The hardware address once the bridge is ours (bridged: the uplink's). It is set after the alias,
   * so a half-made bridge still carries bridgeMacFor's MAC, by which it is known.
   */
  mac?: Uint8Array;
}

/** ours: our alias. half-made: no alias yet, but our MAC (a create that was killed). foreign: anything else. */
export function ownership(link: Link, network: string): "ours" | "half-made" | "foreign" {
  if (link.kind !== "bridge") return "foreign";
  if (link.alias === aliasFor(network)) return "ours";
  const mac = bridgeMacFor(network);
  if (!link.alias && link.mac?.length === 6 && link.mac.every((b, i) => b === mac[i])) return "half-made";
  return "foreign";
}

/** Throws ConflictError unless `link` is ours (or half-made by us). */
export function assertOurs(link: Link, network: string): void {
  if (ownership(link, network) !== "foreign") return;
  if (link.alias !== aliasFor(network)) {
    const who = link.alias ? `alias "${link.alias}"` : "no vmlan alias";
    throw new ConflictError(`interface ${link.name} exists and is not vmlan's network "${network}" (${who}); rename the network or remove the interface`, {
      details: { interface: link.name, alias: link.alias },
    });
  }
  throw new ConflictError(`interface ${link.name} is a ${link.kind ?? "device"}, not a bridge`);
}

/** Creates the bridge if missing, then makes alias, MTU, addresses and link state right. Returns its index. */
export function ensureBridge(nl: Netlink, spec: BridgeSpec): number {
  checkIfname(spec.name);
  let link = getLink(nl, spec.name);
  if (!link) {
    try {
      createLink(nl, spec.name, "bridge", spec.mtu, bridgeMacFor(spec.network));
    } catch (e) {
      // Another vmlan creating the same network got there first: its bridge is checked below like any other.
      if (!(e instanceof SyscallError && e.errno === EEXIST)) throw e;
    }
    link = getLink(nl, spec.name);
    if (!link) throw new HostError(`bridge ${spec.name} vanished right after it was created`);
  }
  assertOurs(link, spec.network);
  if (link.alias !== aliasFor(spec.network)) setLink(nl, link.index, spec.name, { alias: aliasFor(spec.network) });
  if (link.mtu !== spec.mtu) setLink(nl, link.index, spec.name, { mtu: spec.mtu });
  if (spec.mac && !(link.mac && sameBytes(link.mac, spec.mac))) setLink(nl, link.index, spec.name, { mac: spec.mac });
  if (spec.addresses) ensureAddresses(nl, link.index, spec.name, spec.addresses);
  if (!(link.flags & IFF_UP)) setLink(nl, link.index, spec.name, { up: true });
  return link.index;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const sameAddr = (a: Addr, c: Cidr) => a.family === c.family && a.prefixlen === c.prefix && sameBytes(a.address, c.bytes);

/** Adds missing gateway addresses and drops stale global ones (e.g. from an earlier subnet). */
function ensureAddresses(nl: Netlink, index: number, name: string, want: Cidr[]): void {
  const have = listAddrs(nl, index);
  for (const a of have) {
    const linkLocal = a.family === AF_INET6 && a.address[0] === 0xfe && (a.address[1]! & 0xc0) === 0x80;
    if (linkLocal || want.some((c) => sameAddr(a, c))) continue;
    try {
      delAddr(nl, a, `${formatAddress(a.address)}/${a.prefixlen} on ${name}`);
    } catch (e) {
      if (!(e instanceof SyscallError && e.errno === EADDRNOTAVAIL)) throw e; // removed meanwhile by another vmlan
    }
  }
  for (const c of want) {
    if (have.some((a) => sameAddr(a, c))) continue;
    // No DAD for v6: the gateway address is ours by construction and DAD would delay it ~1 s.
    const flags = c.family === AF_INET6 ? IFA_F_NODAD : 0;
    addAddr(nl, { family: c.family, address: c.bytes, prefixlen: c.prefix, flags, index }, `${c.text} on ${name}`);
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
