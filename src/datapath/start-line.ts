/**
 * The helper's one JSON line on stdout, printed when it is ready to forward. The vmnet_* keys are
 * vmnet-helper's (native-facts C 1.3), so tools written for it (minikube, vfkit, krunkit wrappers)
 * read it unchanged; the vmlan_* keys add what a Linux bridge network knows. Documented in
 * docs/protocol.md. Pure: the caller passes the lease as plain values.
 */
import { ipv4Range } from "../core/ipam/ipv4.ts";
import { BATCH_SIZE, TSO_MAX_PACKET_SIZE } from "./sizes.ts";

export interface StartLineInput {
  mac: string;
  mtu: number;
  interfaceId: string;
  /** IPv4 address of the VM, without prefix; null on a bridged network (the LAN assigns it) */
  address: string | null;
  prefixLength: number | null;
  gateway: string | null;
  /** The last address the network hands out (its pool's end); default broadcast - 1. */
  rangeEnd?: string;
  /** The network's IPv6 prefix address ("fd00:1::") and length; absent or null without IPv6. */
  ipv6Prefix?: string | null;
  ipv6PrefixLength?: number | null;
  hostname: string;
  network: string;
  tap: string;
  /** What the port does: isolation, and the offloads of an offload TAP (datapath/offload/). */
  isolation?: boolean;
  offload?: "checksum" | "tso";
  /** Frames per batch each way (default BATCH_SIZE). */
  batchSize?: number;
}

export interface StartLine {
  vmnet_mac_address: string;
  vmnet_mtu: number;
  vmnet_max_packet_size: number;
  vmnet_interface_id: string;
  /** The address keys are absent on a bridged network, as vmnet-helper's bridged start line has none. */
  vmnet_start_address?: string;
  vmnet_end_address?: string;
  vmnet_subnet_mask?: string;
  vmnet_read_max_packets: number;
  vmnet_write_max_packets: number;
  vmnet_nat66_prefix?: string;
  net_ipv4_subnet?: string;
  net_ipv4_mask?: string;
  net_ipv6_prefix?: string;
  net_ipv6_prefix_len?: number;
  vmlan_address?: string;
  vmlan_prefix_length?: number;
  vmlan_gateway?: string;
  vmlan_hostname: string;
  vmlan_network: string;
  vmlan_tap: string;
  vmlan_isolation: boolean;
  vmlan_tso: boolean;
  vmlan_checksum_offload: boolean;
}

/** Ethernet header (14 bytes) on top of the MTU, as vmnet reports 1514 for MTU 1500; with TSO vmnet's 65550. */
export const maxPacketSize = (mtu: number, offload?: "checksum" | "tso") => (offload === "tso" ? TSO_MAX_PACKET_SIZE : mtu + 14);

/** Subnet mask and last usable address (broadcast − 1) of an IPv4 network given any address in it. */
export { ipv4Range };

/**
 * Every key vmnet-helper prints: vmnet's interface_param (start/end = gateway and the DHCP range's
 * end, nat66 = the IPv6 prefix, "" without one) and, as with a vmnet-broker network, net_* (vmnet
 * reports the gateway as the IPv4 "subnet"); then vmlan's. A bridged network has no address keys.
 */
export function startLine(i: StartLineInput): StartLine {
  const addressed = i.address !== null && i.gateway !== null && i.prefixLength !== null;
  const range = addressed ? ipv4Range(i.gateway!, i.prefixLength!) : null;
  return {
    vmnet_mac_address: i.mac,
    vmnet_mtu: i.mtu,
    vmnet_max_packet_size: maxPacketSize(i.mtu, i.offload),
    vmnet_interface_id: i.interfaceId,
    ...(range ? { vmnet_start_address: i.gateway!, vmnet_end_address: i.rangeEnd ?? range.end, vmnet_subnet_mask: range.mask } : {}),
    vmnet_read_max_packets: i.batchSize ?? BATCH_SIZE,
    vmnet_write_max_packets: i.batchSize ?? BATCH_SIZE,
    ...(range ? {
      vmnet_nat66_prefix: i.ipv6Prefix ?? "",
      net_ipv4_subnet: i.gateway!, net_ipv4_mask: range.mask, net_ipv6_prefix: i.ipv6Prefix ?? "", net_ipv6_prefix_len: i.ipv6PrefixLength ?? 0,
      vmlan_address: i.address!, vmlan_prefix_length: i.prefixLength!, vmlan_gateway: i.gateway!,
    } : {}),
    vmlan_hostname: i.hostname,
    vmlan_network: i.network,
    vmlan_tap: i.tap,
    vmlan_isolation: i.isolation ?? false,
    vmlan_tso: i.offload === "tso",
    vmlan_checksum_offload: i.offload !== undefined,
  };
}
