/**
 * macOS 15 and older: the classic vmnet API only. There is one network, vmnet's shared (NAT) one,
 * which vmlan calls `default`; vmnet creates it when the first interface starts, with the DHCP range
 * the descriptor gives (the stored spec's). No named networks, no host mode, root needed. Every
 * other request fails with an error that names macOS 26.
 */
import { ipv4Range } from "../../core/ipam/subnet.ts";
import { UsageError } from "../../core/errors.ts";
import type { HostNetworkSpec, HostNetworkStatus, VmnetHostPort, VmnetPortOptions } from "../types.ts";
import { bridgedPort, brokerOpener, checkPrivileges, DARWIN_MTU_RANGE, dropOrStop, hostPort, vmnetInterfaceId, type DarwinPlatform } from "./common.ts";
import { bridgedStatus, listUplinks, probeUplink } from "./uplinks.ts";
import { explain } from "./held.ts";
import { NETWORKS_SINCE } from "./version.ts";
import { VmnetInterface } from "./vmnet-interface.ts";
import { darwinPorts } from "./ports.ts";

/** The one network the classic API can give (vmnet's shared network). */
export const CLASSIC_NETWORK = "default";

/** vmnet's DHCP range keys for a classic interface: gateway .. last host, dotted mask. */
export function classicRange(spec: HostNetworkSpec): { start: string; end: string; mask: string } {
  return { start: spec.gateway, ...ipv4Range(spec.gateway, Number(spec.subnet.split("/")[1])) };
}

function classicOnly(spec: HostNetworkSpec, major: number): void {
  if (spec.mode === "bridged") return; // vmnet's classic bridged mode: any name, one interface per VM
  if (spec.name !== CLASSIC_NETWORK) {
    throw new UsageError(`macOS ${major} has only vmnet's shared network: use the network "${CLASSIC_NETWORK}"; named networks ("${spec.name}") need macOS ${NETWORKS_SINCE} or later`, { details: { network: spec.name, macos: major } });
  }
  if (spec.mode !== "shared") throw new UsageError(`on macOS ${major} the "${CLASSIC_NETWORK}" network is vmnet's shared (NAT) network; mode ${spec.mode} needs macOS ${NETWORKS_SINCE}`);
}

export function createClassicPlatform(major: number): DarwinPlatform {
  async function status(spec: HostNetworkSpec): Promise<HostNetworkStatus> {
    const base = { name: spec.name, bridge: spec.bridge };
    if (spec.mode === "bridged") return bridgedStatus(spec);
    if (spec.name !== CLASSIC_NETWORK) return { ...base, up: false, addresses: [], nat: false, detail: `macOS ${major} has no named vmnet networks (only "${CLASSIC_NETWORK}")` };
    const len = spec.subnet.split("/")[1];
    return { ...base, up: true, addresses: [`${spec.gateway}/${len}`], nat: true, detail: "vmnet's shared network: vmnet creates it when the first interface starts" };
  }

  function openVmnetPort(spec: HostNetworkSpec, o: VmnetPortOptions): VmnetHostPort {
    classicOnly(spec, major);
    if (spec.mode === "bridged") return bridgedPort(spec, o);
    const interfaceId = vmnetInterfaceId(o.interfaceId);
    let port: VmnetHostPort;
    try {
      const { isolation, tso, checksumOffload } = o;
      port = hostPort(VmnetInterface.start({ mode: "shared", interfaceId, range: classicRange(spec), isolation, tso, checksumOffload }));
    } catch (e) {
      throw explain(e, `vmnet interface on ${spec.name}`);
    }
    if (o.dropPrivileges) dropOrStop(port);
    return port;
  }

  return {
    os: "darwin",
    mtuRange: DARWIN_MTU_RANGE,
    checkPrivileges: () => checkPrivileges(major),
    checkSubnetFree: async () => {}, // vmnet picks the shared network's bridge; nothing to compare with
    // Nothing to create: vmnet makes the shared network (and a bridged interface's bridge) on first start.
    ensureNetwork: async (spec) => (spec.mode === "bridged" ? void probeUplink(spec.uplink ?? "") : classicOnly(spec, major)),
    removeNetwork: async () => {}, // nothing was created
    status,
    openVmnetPort,
    openTap: brokerOpener(openVmnetPort),
    probeUplink: async (name) => probeUplink(name),
    listUplinks: async () => listUplinks(),
    // vmnet's rules for a classic interface would be added on it once started (VmnetInterface.addForward);
    // which of the network's rules belong to which helper's interface is not wired yet, so the services
    // daemon proxies every published port here (docs/ports.md).
    ports: darwinPorts({ rulesFor: () => [] }, { vmnetForwards: false }),
  };
}
