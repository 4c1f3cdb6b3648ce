/**
 * macOS 26+: a vmlan network is a vmnet network (vmnet_network_create from the stored spec: subnet as
 * gateway + mask, IPv6 prefix, MTU, DHCP off since vmlan does its own addressing), held by this
 * process (held.ts: what that means for a one-shot CLI, the helper and the broker). Unprivileged with
 * the com.apple.security.virtualization entitlement.
 */
import { intToV4, v4ToInt } from "../../core/ipam/subnet.ts";
import { UsageError } from "../../core/errors.ts";
import type { HostNetworkSpec, HostNetworkStatus, VmnetHostPort, VmnetPortOptions } from "../types.ts";
import { bridgedPort, brokerOpener, checkPrivileges, DARWIN_MTU_RANGE, dropOrStop, hostPort, type DarwinPlatform } from "./common.ts";
import { bridgedStatus, listUplinks, probeUplink } from "./uplinks.ts";
import { explain, HeldNetworks } from "./held.ts";
import { darwinPorts, vmnetForwards } from "./ports.ts";
import type { PortRule } from "../../core/ports/state.ts";
import { VmnetNetwork } from "./network.ts";
import { VmnetError, VmnetInterface } from "./vmnet-interface.ts";
import { acquireFromBroker, brokerService } from "./xpc-client.ts";
import { VMNET_SHARING_SERVICE_BUSY } from "../../../ffi/vmnet/constants.ts";
import { VMLAN_MACH_SERVICE } from "../../core/resources/mach-services.ts";

/** The clients' broker is another program's (vmnet-broker), not vmlan's. */
const externalBroker = () => {
  const s = brokerService();
  return s !== null && s !== VMLAN_MACH_SERVICE;
};
import { vmnetShim } from "../../../ffi/vmnet/load.ts";
import { interfaceWithAddress } from "../../../ffi/libc/ifaddrs.ts";


export function createNetworksPlatform(major: number): DarwinPlatform {
  // Published ports: the composition root tells the platform where the store's rules come from (ports.ts).
  const rules = { rulesFor: (_network: string): PortRule[] => [] };
  // The broker creates its networks (with their vmnet forwarding rules); every other process asks it
  // first (xpc-client.ts), so VMs and helpers in several processes share one vmnet network. No broker
  // answering: create it here.
  let serving = false;
  const held = new HeldNetworks((spec) => {
    const service = serving ? null : brokerService();
    return (service && acquireFromBroker(service, spec)) || VmnetNetwork.create(spec, { forwards: vmnetForwards(rules.rulesFor(spec.name), spec.mode) });
  });

  async function status(spec: HostNetworkSpec): Promise<HostNetworkStatus> {
    const base = { name: spec.name, bridge: spec.bridge };
    if (spec.mode === "bridged") return bridgedStatus(spec);
    const net = held.get(spec.name);
    if (!net) {
      return { ...base, up: false, addresses: [], nat: false, detail: "not held by this process: a macOS vmnet network lives only while a process holds it (vmlan broker, or the helper of a VM on it)" };
    }
    const info = net.info();
    const addresses = [`${info.ipv4Address}/${info.subnet.split("/")[1]}`];
    if (info.ipv6PrefixLen > 0 && info.ipv6Prefix && info.ipv6Prefix !== "::") addresses.push(`${info.ipv6Prefix}/${info.ipv6PrefixLen}`);
    return { ...base, up: true, addresses, nat: spec.mode === "shared" };
  }

  async function ensureNetwork(spec: HostNetworkSpec): Promise<void> {
    // Bridged mode is not a vmnet network mode on macOS 26: each interface is bridged by the classic API.
    if (spec.mode === "bridged") return void probeUplink(spec.uplink ?? "");
    const got = held.ensure(spec).info().subnet;
    if (got !== spec.subnet) {
      held.release(spec.name);
      throw new UsageError(`vmnet gave network ${spec.name} the subnet ${got}, not ${spec.subnet}`);
    }
  }

  /** A trial reservation: vmnet itself says whether another network or sharing service owns the subnet. */
  async function checkSubnetFree(cidr: string, bridge: string): Promise<void> {
    if (cidr.includes(":") || held.byBridge(bridge)) return; // IPv6 prefixes: vmnet reports conflicts at create
    const gateway = intToV4(v4ToInt(cidr.split("/")[0]!) + 1);
    try {
      VmnetNetwork.create({ name: `check-${bridge}`, bridge, mode: "host", subnet: cidr, gateway, subnetV6: null, gatewayV6: null, mtu: 1500 }).release();
    } catch (e) {
      // Another program's broker (VMLAN_VMNET_BROKER, e.g. vmnet-broker holding `shared`) may be what
      // holds it: every process takes this network from that broker, which checks the subnet it gives.
      if (e instanceof VmnetError && e.status === VMNET_SHARING_SERVICE_BUSY && externalBroker()) return;
      throw explain(e, `subnet ${cidr}`);
    }
  }

  /** vmnet ignores interface ids with a network (it picks a random MAC); the id stays vmlan's. */
  function openVmnetPort(spec: HostNetworkSpec, o: VmnetPortOptions = {}): VmnetHostPort {
    if (spec.mode === "bridged") return bridgedPort(spec, o);
    // The port holds the network until its interface stopped (held.ts portHold).
    const hold = held.portHold(spec);
    let port: VmnetHostPort;
    try {
      port = hostPort(VmnetInterface.startOnNetwork(hold.net.unsafeRef, { isolation: o.isolation, tso: o.tso, checksumOffload: o.checksumOffload }), hold.done);
    } catch (e) {
      hold.done();
      throw explain(e, `vmnet interface on ${spec.name}`);
    }
    if (o.dropPrivileges) dropOrStop(port);
    return port;
  }

  return {
    os: "darwin",
    mtuRange: DARWIN_MTU_RANGE,
    checkPrivileges: () => checkPrivileges(major),
    checkSubnetFree,
    ensureNetwork,
    removeNetwork: async (spec) => void held.release(spec.name), // the reservation ends with the last reference (bridged: none)
    status,
    openVmnetPort,
    openTap: brokerOpener(openVmnetPort, true),
    probeUplink: async (name) => probeUplink(name),
    listUplinks: async () => listUplinks(),
    heldRef: (name) => {
      const net = held.get(name);
      return net ? Number(net.unsafeRef) : null;
    },
    releaseHeld: (name) => void held.release(name),
    // vmlan's DHCP and DNS on vmnet's bridge (vmnet's own DHCP and DNS proxy are off, network.ts).
    serviceInterface: (spec) => (spec.mode === "bridged" ? null : interfaceWithAddress(spec.gateway)),
    serveNetworks: () => {
      serving = true;
      return vmnetShim().vmlan_network_api() === 1;
    },
    ports: darwinPorts(rules, { vmnetForwards: true }),
  };
}
