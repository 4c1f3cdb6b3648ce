/**
 * The vmlan network a switch request means (socket_vmnet's options, or `vmlan switch --network`),
 * brought up with its guest services, as vmnet brings up its interface with DHCP:
 * - `--network NAME` (vmlan's own): that stored network, as it is; it must be up.
 * - `--vmnet-mode bridged --vmnet-interface IF`: the bridged network on uplink IF (compat/bridged.ts,
 *   shared with vmnet-helper's bridged mode), made on first use; the LAN's DHCP serves its guests.
 * - `--vmnet-network-identifier UUID`: vmnet's isolated host network of that id, no DHCP: the
 *   host-mode network labelled with the id, created on first use; every switch given the same id
 *   joins it.
 * - `--vmnet-gateway` (with --vmnet-dhcp-end, --vmnet-mask): the network with that gateway and mask
 *   whose guests get gateway + 1 .. dhcp-end (core/compat/vmnet-networks.ts, shared with
 *   vmnet-helper's address options), created on first use and labelled as made for compatibility.
 * - otherwise: the built-in `default` (shared) or `host` (host-only) network.
 */
import type { NetworkService } from "../../core/networks.ts";
import type { Network } from "../../core/resources/network.ts";
import { hostSpec } from "../../core/network-config.ts";
import { UsageError, VmlanError } from "../../core/errors.ts";
import { COMPAT_LABEL_KEY, rangeRequest, vmnetNetwork } from "../../core/compat/vmnet-networks.ts";
import { bridgedNetwork, listSharedInterfaces } from "./bridged.ts";
import { bringUp } from "./helper-run.ts";
import type { SwitchRequest } from "./socket-vmnet-options.ts";

/** The label holding vmnet's network identifier on the host network made for it. */
export const NETWORK_ID_LABEL = "vmlan.vmnet-network-identifier";

export interface ChosenNetwork { network: Network; created: boolean; notes: string[] }

const VMNET_FLAGS: Array<[keyof SwitchRequest, string]> = [
  ["mode", "--vmnet-mode"], ["gateway", "--vmnet-gateway"], ["dhcpEnd", "--vmnet-dhcp-end"], ["mask", "--vmnet-mask"],
  ["iface", "--vmnet-interface"], ["networkIdentifier", "--vmnet-network-identifier"], ["nat66Prefix", "--vmnet-nat66-prefix"],
];

/** `vmlan switch --network NAME` with none of the options that choose a network. */
export function checkNamedNetwork(r: SwitchRequest): void {
  if (r.network === undefined) return;
  for (const [key, flag] of VMNET_FLAGS) {
    if (r[key] !== undefined) throw new UsageError(`conflicting arguments: --network cannot be used with ${flag}`);
  }
}

async function identifiedNetwork(svc: NetworkService, r: SwitchRequest): Promise<{ network: Network; created: boolean }> {
  const id = r.networkIdentifier!;
  const found = svc.store.listNetworks().find((n) => n.labels[NETWORK_ID_LABEL] === id);
  if (found) return { network: found, created: false };
  // With --vmnet-gateway it gets that addressing; without, the next free /24, as vmnet picks one.
  const addressing = r.gateway !== undefined ? rangeRequest("host", { start: r.gateway, end: r.dhcpEnd!, mask: r.mask! }) : {};
  const { network } = await svc.create({
    ...addressing, name: `vmnet-${id.slice(0, 8).toLowerCase()}`, mode: "host", dhcp: false,
    labels: { [COMPAT_LABEL_KEY]: "socket_vmnet", [NETWORK_ID_LABEL]: id },
  });
  return { network, created: true };
}

export async function switchNetwork(svc: NetworkService, r: SwitchRequest): Promise<ChosenNetwork> {
  const notes: string[] = [];
  if (r.network !== undefined) {
    const network = svc.get(r.network);
    const status = svc.platform ? await svc.platform.status(hostSpec(network)) : null;
    if (status && !status.up) {
      throw new VmlanError(`network "${network.name}" is not up; run \`vmlan system start\` first`, { code: "ENETDOWN", exitCode: 6, details: { network: network.name } });
    }
    return { network, created: false, notes };
  }
  const mode = r.mode ?? "shared";
  let chosen: { network: Network; created: boolean };
  if (mode === "bridged") {
    // Checked here so the message names socket_vmnet's flag (bridged.ts speaks vmnet-helper's).
    const stored = svc.store.listNetworks().some((n) => n.mode === "bridged" && n.uplink === r.iface);
    if (!stored && !(await listSharedInterfaces()).includes(r.iface!)) {
      throw new UsageError(`invalid --vmnet-interface ${JSON.stringify(r.iface)}: not an interface a bridged network can use (vmlan network uplinks)`);
    }
    chosen = await bridgedNetwork(svc, r.iface!);
  }
  else if (r.networkIdentifier !== undefined) {
    if (mode !== "host") throw new UsageError(`--vmnet-network-identifier is only for --vmnet-mode=host (vmnet's isolated host networks)`);
    chosen = await identifiedNetwork(svc, r);
  } else {
    const subnetV6 = r.nat66Prefix ? `${r.nat66Prefix}/64` : undefined;
    const range = r.gateway !== undefined ? { start: r.gateway, end: r.dhcpEnd!, mask: r.mask! } : undefined;
    chosen = await vmnetNetwork(svc, { mode, range, ...(r.disableDhcp ? { dhcp: false } : {}), ...(range && subnetV6 ? { subnetV6 } : {}) });
  }
  const n = chosen.network;
  if (r.nat66Prefix && n.subnetV6 !== `${r.nat66Prefix}/64`) {
    notes.push(`--vmnet-nat66-prefix ${r.nat66Prefix}: network "${n.name}" keeps its IPv6 prefix (${n.subnetV6 ?? "none"}); a network vmlan creates for --vmnet-gateway gets it`);
  }
  if (r.disableDhcp && n.dhcp) notes.push(`--vmnet-disable-dhcp: network "${n.name}" already serves DHCP and keeps it (vmlan changes no existing network)`);
  await bringUp(svc, n, chosen.created, { info: (l) => notes.push(l), error: (l) => notes.push(l), debug: () => {} });
  return { ...chosen, notes };
}
