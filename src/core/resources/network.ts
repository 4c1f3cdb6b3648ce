import * as v from "valibot";
import { NetworkName, IFNAME_MAX } from "./names.ts";
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
});
export type Network = v.InferOutput<typeof Network>;

/** What a user asks for on `network create` (before IPAM fills in the rest). */
export const NetworkRequest = v.object({
  name: NetworkName,
  mode: v.optional(NetworkMode, "shared"),
  subnet: v.optional(v.string()),
  subnetV6: v.optional(v.string()),
  mtu: v.optional(v.pipe(v.number(), v.integer(), v.minValue(576), v.maxValue(65535)), DEFAULT_MTU),
  labels: v.optional(Labels, {}),
});
export type NetworkRequest = v.InferInput<typeof NetworkRequest>;

export const DEFAULT_NETWORK = {
  name: "default",
  mode: "shared" as const,
  subnet: "192.168.64.0/24",
};
