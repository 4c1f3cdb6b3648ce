/**
 * The helper's one JSON line on stdout, printed when it is ready to forward. The vmnet_* keys are
 * vmnet-helper's (native-facts C 1.3), so tools written for it (minikube, vfkit, krunkit wrappers)
 * read it unchanged; the vmlan_* keys add what a Linux bridge network knows. Documented in
 * docs/protocol.md. Pure: the caller passes the lease as plain values.
 */
import { ipv4Range } from "../core/ipam/subnet.ts";
import { BATCH_SIZE } from "./forward.ts";

export interface StartLineInput {
  mac: string;
  mtu: number;
  interfaceId: string;
  /** IPv4 address of the VM, without prefix; null on a bridged network (the LAN assigns it) */
  address: string | null;
  prefixLength: number | null;
  gateway: string | null;
  hostname: string;
  network: string;
  tap: string;
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
  vmlan_address?: string;
  vmlan_prefix_length?: number;
  vmlan_gateway?: string;
  vmlan_hostname: string;
  vmlan_network: string;
  vmlan_tap: string;
}

/** Ethernet header (14 bytes) on top of the MTU, as vmnet reports 1514 for MTU 1500. */
export const maxPacketSize = (mtu: number) => mtu + 14;

/** Subnet mask and last usable address (broadcast − 1) of an IPv4 network given any address in it. */
export { ipv4Range };

export function startLine(i: StartLineInput): StartLine {
  const addressed = i.address !== null && i.gateway !== null && i.prefixLength !== null;
  const range = addressed ? ipv4Range(i.gateway!, i.prefixLength!) : null;
  return {
    vmnet_mac_address: i.mac,
    vmnet_mtu: i.mtu,
    vmnet_max_packet_size: maxPacketSize(i.mtu),
    vmnet_interface_id: i.interfaceId,
    ...(range ? { vmnet_start_address: i.gateway!, vmnet_end_address: range.end, vmnet_subnet_mask: range.mask } : {}),
    vmnet_read_max_packets: BATCH_SIZE,
    vmnet_write_max_packets: BATCH_SIZE,
    ...(addressed ? { vmlan_address: i.address!, vmlan_prefix_length: i.prefixLength!, vmlan_gateway: i.gateway! } : {}),
    vmlan_hostname: i.hostname,
    vmlan_network: i.network,
    vmlan_tap: i.tap,
  };
}
