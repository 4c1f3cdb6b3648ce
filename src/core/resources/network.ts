import * as v from "valibot";
import { NetworkName, IFNAME_MAX, DnsDomain, Ifname } from "./names.ts";
import { Labels } from "./labels.ts";

export const MODES = ["shared", "host", "bridged"] as const;
export const NetworkMode = v.picklist(MODES, (i) => `invalid mode "${i.input}": use shared, host or bridged`);
export type NetworkMode = v.InferOutput<typeof NetworkMode>;

export const DEFAULT_MTU = 1500;

/** A stored network. Addresses are canonical strings; CIDRs are "addr/len" of the network address. */
export const Network = v.object({
  name: NetworkName,
  mode: NetworkMode,
  /** IPv4 subnet, e.g. 192.168.64.0/24 */
  subnet: v.string(),
  /** subnet + 1 */
  gateway: v.string(),
  /** IPv6 prefix, e.g. fd00:1::/64, or null */
  subnetV6: v.nullable(v.string()),
  gatewayV6: v.nullable(v.string()),
  mtu: v.pipe(v.number(), v.integer(), v.minValue(576), v.maxValue(65535)),
  /** Host-side interface name (Linux bridge); at most 15 bytes. */
  bridge: v.pipe(v.string(), v.maxLength(IFNAME_MAX)),
  labels: Labels,
  builtin: v.boolean(),
  createdAt: v.string(),
  /** vmlan's DHCP server answers on the bridge (src/services). */
  dhcp: v.boolean(),
  /** Guests' DNS domain; null means the default "<name>.vmlan" (see dnsDomainOf). */
  dnsDomain: v.nullable(DnsDomain),
  /** Bridged mode: the host interface enslaved to the bridge (the LAN side); null otherwise. */
  uplink: v.nullable(Ifname),
  /**
   * The addresses IPAM hands out, first and last (inclusive); null means every address of the subnet
   * but the network, gateway and broadcast addresses. Set for vmnet-style ranges (--start/--end-address).
   */
  poolStart: v.nullable(v.string()),
  poolEnd: v.nullable(v.string()),
});
export type Network = v.InferOutput<typeof Network>;

const mtuRange = (i: { input: unknown }) => `invalid mtu ${JSON.stringify(i.input)}: expected 576..65535`;
const RequestMtu = v.pipe(v.number(), v.integer(mtuRange), v.minValue(576, mtuRange), v.maxValue(65535, mtuRange));

/** What a user asks for on `network create` (before IPAM fills in the rest). */
export const NetworkRequest = v.object({
  name: NetworkName,
  mode: v.optional(NetworkMode, "shared"),
  subnet: v.optional(v.string()),
  subnetV6: v.optional(v.string()),
  /** Absent: DEFAULT_MTU (bridged: the uplink's MTU), also when compared with an existing network. */
  mtu: v.optional(RequestMtu),
  labels: v.optional(Labels, {}),
  /** Like mtu, an absent value means the default (on; off for bridged networks), also when compared. */
  dhcp: v.optional(v.boolean()),
  dnsDomain: v.optional(DnsDomain),
  /** Bridged mode only (required there): the host interface to enslave. */
  uplink: v.optional(Ifname),
  /** The host's address on the network; default subnet + 1 (checked by ipam/pool.ts). */
  gateway: v.optional(v.string()),
  /** Hand out only poolStart..poolEnd (both or neither); default the whole subnet. */
  poolStart: v.optional(v.string()),
  poolEnd: v.optional(v.string()),
});
export type NetworkRequest = v.InferInput<typeof NetworkRequest>;

export const DEFAULT_NETWORK = {
  name: "default",
  mode: "shared" as const,
  subnet: "192.168.64.0/24",
};

/** vmlan's DHCP is on by default, except on bridged networks (the LAN's DHCP server serves them). */
export const defaultDhcp = (mode: NetworkMode): boolean => mode !== "bridged";

/** The suffix every default guest domain ends with: "web.<network>.vmlan". */
export const VMLAN_DNS_SUFFIX = "vmlan";

/** The DNS domain of a network's guests: the configured one, else "<name>.vmlan" (lowercase). */
export function dnsDomainOf(n: Pick<Network, "name" | "dnsDomain">): string {
  return n.dnsDomain ?? `${n.name.toLowerCase()}.${VMLAN_DNS_SUFFIX}`;
}
