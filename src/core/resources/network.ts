import * as v from "valibot";
import { NetworkName, IFNAME_MAX, DnsDomain } from "./names.ts";
import { Labels } from "./labels.ts";

export const MODES = ["shared", "host"] as const;
export const NetworkMode = v.picklist(MODES, (i) => `invalid mode "${i.input}": use shared or host`);
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
  mtu: v.optional(RequestMtu, DEFAULT_MTU),
  labels: v.optional(Labels, {}),
  /** Like mtu, an absent value means the default (on), also when compared with an existing network. */
  dhcp: v.optional(v.boolean(), true),
  dnsDomain: v.optional(DnsDomain),
});
export type NetworkRequest = v.InferInput<typeof NetworkRequest>;

export const DEFAULT_NETWORK = {
  name: "default",
  mode: "shared" as const,
  subnet: "192.168.64.0/24",
};

/** The suffix every default guest domain ends with: "web.<network>.vmlan". */
export const VMLAN_DNS_SUFFIX = "vmlan";

/** The DNS domain of a network's guests: the configured one, else "<name>.vmlan" (lowercase). */
export function dnsDomainOf(n: Pick<Network, "name" | "dnsDomain">): string {
  return n.dnsDomain ?? `${n.name.toLowerCase()}.${VMLAN_DNS_SUFFIX}`;
}
