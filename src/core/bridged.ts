/**
 * Bridged networks: what vmlan records about the LAN behind an uplink. Guests on such a network are
 * hosts of that LAN: its DHCP server gives them their addresses, so vmlan's IPAM hands out MACs only
 * (allocator.ts, address-less leases), and the stored subnet and gateway describe the LAN (for
 * listings and overlap checks), not a pool.
 */
import { UsageError } from "./errors.ts";
import { canonicalV4, containsV4, intToV4, parseSubnetV4, v4ToInt } from "./ipam/subnet.ts";
import type { LanLayout } from "./network-config.ts";
import type { UplinkInfo } from "../platform/types.ts";

/**
 * The LAN's subnet: the one given (--subnet), else the network of the uplink's primary IPv4 address.
 * The gateway: the uplink's IPv4 default route when it lies in that subnet (the LAN's router), else
 * subnet + 1 as on every vmlan network. The MTU: the one given, at most the uplink's, else the uplink's.
 */
export function lanLayout(info: UplinkInfo, given: { subnet?: string; mtu?: number }): { subnet: string } & LanLayout {
  const subnet = given.subnet ?? subnetOf(info);
  const s = parseSubnetV4(subnet);
  const gw = info.defaultGateway && containsV4(s, v4ToInt(info.defaultGateway)) ? info.defaultGateway : intToV4(s.base + 1);
  if (given.mtu !== undefined && given.mtu > info.mtu) {
    throw new UsageError(`MTU ${given.mtu} is larger than the MTU of uplink ${info.name} (${info.mtu}): frames that big cannot leave through it`);
  }
  return { subnet: canonicalV4(s), gateway: gw, mtu: given.mtu ?? info.mtu };
}

function subnetOf(info: UplinkInfo): string {
  const first = info.ipv4[0];
  if (!first) throw new UsageError(`uplink ${info.name} has no IPv4 address to take the LAN's subnet from: give it with --subnet CIDR`);
  const [addr, len] = first.split("/") as [string, string];
  const prefix = Number(len);
  if (prefix > 30 || prefix < 8) {
    throw new UsageError(`uplink ${info.name} has ${first}, whose /${prefix} is not a LAN vmlan can describe: give the LAN's subnet with --subnet CIDR`);
  }
  const size = 2 ** (32 - prefix);
  return `${intToV4(Math.floor(v4ToInt(addr) / size) * size)}/${prefix}`;
}
