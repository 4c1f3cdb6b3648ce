/**
 * Runs a checked switch request (socket-vmnet-options.ts) for `vmlan switch` and the binary started
 * as `socket_vmnet`: socket group and mode, then the switch daemon (switch/switch.ts) whose setup,
 * after the pidfile as socket_vmnet starts vmnet, picks and brings up the network (switch-network.ts)
 * and the per-client ports. `style` picks the log format and what is printed when listening: vmlan's
 * JSON line on stdout, or socket_vmnet's `INFO | * vmnet_...` lines on stderr.
 */
import { randomUUID } from "node:crypto";
import { networkService } from "../context.ts";
import { intToV4 } from "../../core/ipam/subnet.ts";
import { poolOf } from "../../core/ipam/addressing.ts";
import type { Network } from "../../core/resources/network.ts";
import { groupId, switchDeps } from "../commands/_switch-deps.ts";
import { switchNetwork } from "./switch-network.ts";
import { VMNET_MODE_NUMBER, type SwitchRequest } from "./socket-vmnet-options.ts";
import { ipv4Range } from "../../core/ipam/subnet.ts";

export type SwitchStyle = "vmlan" | "socket_vmnet";

/** socket_vmnet chmods its socket 0770 after chown to the socket group; without a group, vmlan's switch is owner-only. */
const GROUP_MODE = 0o770;
const OWNER_MODE = 0o600;

/** The keys vmnet reports at start (socket_vmnet logs them), for a vmlan network, plus vmlan's own. */
export function startKeys(n: Network, r: SwitchRequest, socket: string): Record<string, string | number> {
  const prefix = Number(n.subnet.split("/")[1]);
  // vmnet's bridged mode reports no addresses (the LAN owns them), so neither does a bridged network here.
  const addresses: Record<string, string> = n.mode === "bridged" ? {} : {
    vmnet_start_address: n.gateway, vmnet_end_address: intToV4(poolOf(n).last), vmnet_subnet_mask: ipv4Range(n.gateway, prefix).mask,
  };
  return {
    ...addresses, vmnet_mtu: n.mtu, vmnet_max_packet_size: n.mtu + 14, vmnet_interface_id: r.interfaceId ?? randomUUID().toUpperCase(),
    ...(n.subnetV6 ? { vmnet_nat66_prefix: n.subnetV6.split("/")[0]! } : {}),
    vmlan_socket: socket, vmlan_network: n.name, vmlan_bridge: n.bridge,
    ...(n.mode === "bridged" ? { vmlan_uplink: n.uplink ?? "" } : { vmlan_gateway: n.gateway, vmlan_subnet: n.subnet }), vmlan_pid: process.pid,
  };
}

export async function runSwitchRequest(r: SwitchRequest, style: SwitchStyle): Promise<number> {
  const { SwitchLog } = await import("../../switch/log.ts");
  const { runSwitch } = await import("../../switch/switch.ts");
  const log = new SwitchLog(style, r.verbose);
  const socket = r.socket!;
  const gid = r.socketGroup === undefined ? null : groupId(r.socketGroup, "--socket-group");
  return runSwitch({ path: socket, gid, mode: gid === null ? OWNER_MODE : GROUP_MODE, pidfile: r.pidfile }, async () => {
    if (style === "socket_vmnet") log.info(`Initializing vmlan network (mode ${VMNET_MODE_NUMBER[r.mode ?? "shared"]})`);
    const svc = await networkService(true);
    const { network, notes } = await switchNetwork(svc, r);
    for (const note of notes) log.info(note);
    const deps = await switchDeps(svc, network.name);
    const keys = startKeys(network, r, socket);
    const onReady = style === "vmlan"
      ? () => process.stdout.write(`${JSON.stringify(keys)}\n`)
      : () => { for (const [k, v] of Object.entries(keys)) log.info(`* ${k}: ${v}`); };
    return { deps, maxPacketSize: network.mtu + 14, onReady };
  }, log);
}
