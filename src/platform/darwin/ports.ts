/**
 * Published ports on macOS: vmnet's own port forwarding where vmnet can do what the spec says, and
 * the services daemon's userspace proxy where it cannot (docs/ports.md):
 *   - vmnet forwards an external port with no host address (Apple's vmnet documentation for both
 *     calls below takes only the port), i.e. on the host's addresses at large: so only wildcard specs
 *     (0.0.0.0, [::]) on shared networks map to vmnet rules;
 *   - macOS 26: vmnet_network_configuration_add_port_forwarding_rule, in the configuration the
 *     network is created from (the process that holds it: broker, helper, VM host); vmnet takes rules
 *     nowhere else for such a network (its interfaces refuse the interface calls, a field report on
 *     macOS 27), so a port added while the network is held applies when it is created again;
 *   - older: vmnet_interface_add_ip_port_forwarding_rule on a started classic interface (macOS 11+);
 *   - 127.0.0.1 / [::1] / one host address, and host-only networks: vmnet cannot, so the services
 *     daemon's socket on the host port relays each connection (datagram) to the guest's address,
 *     which the host reaches through the network's bridge (carrier "proxy", services/ports/holds.ts).
 */
import { alloc, offsetOf } from "../../../ffi/layout.ts";
import { vmlan_forward } from "../../../ffi/vmnet/structs.ts";
import { familyOf, isUnspecified, type PortSpec } from "../../core/ports/spec.ts";
import type { PortRule } from "../../core/ports/state.ts";
import type { HostNetworkSpec, PortCarrier, PortPublisher } from "../types.ts";
import ipaddr from "ipaddr.js";

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** One vmnet rule: one external (host) port to one guest address and port. */
export interface VmnetForward {
  protocol: number;
  family: 4 | 6;
  externalPort: number;
  internalPort: number;
  address: Uint8Array;
}

/**
 * What carries `spec` on a network of `mode`: vmnet's forwarding for a wildcard (0.0.0.0, [::]) on a
 * shared network, which is all vmnet can do; else the services daemon's userspace proxy.
 */
export const darwinCarrier = (spec: PortSpec, mode: HostNetworkSpec["mode"]): PortCarrier =>
  mode === "shared" && isUnspecified(spec.hostIp) ? "vmnet" : "proxy";

/** Which host side the daemon's proxies reach guests through: vmnet's, while a process holds the network. */
const VMNET_HOST_SIDE = "vmnet";

/** The vmnet rules for what vmnet can publish (one per port of a range); the rest is left out. */
export function vmnetForwards(rules: PortRule[], mode: HostNetworkSpec["mode"]): VmnetForward[] {
  const out: VmnetForward[] = [];
  for (const r of rules) {
    if (darwinCarrier(r, mode) !== "vmnet") continue;
    const family = familyOf(r.hostIp);
    const address = Uint8Array.from(ipaddr.parse(r.guestAddress).toByteArray());
    if (address.length !== (family === 4 ? 4 : 16)) continue;
    for (let p = r.hostPort; p <= r.hostEnd; p++) {
      out.push({ protocol: r.proto === "tcp" ? IPPROTO_TCP : IPPROTO_UDP, family, externalPort: p, internalPort: r.guestPort + (p - r.hostPort), address });
    }
  }
  return out;
}

/** struct vmlan_forward[] for vmlan_network_create_forwarding (shims/vmnet-forward.h). */
export function forwardsBuffer(forwards: VmnetForward[]): Uint8Array {
  const { bytes, view } = alloc(vmlan_forward, Math.max(1, forwards.length));
  forwards.forEach((f, i) => {
    const base = i * vmlan_forward.size;
    view.setUint8(base + offsetOf(vmlan_forward, "protocol"), f.protocol);
    view.setUint8(base + offsetOf(vmlan_forward, "family"), f.family);
    view.setUint16(base + offsetOf(vmlan_forward, "internal_port"), f.internalPort, true);
    view.setUint16(base + offsetOf(vmlan_forward, "external_port"), f.externalPort, true);
    bytes.set(f.address, base + offsetOf(vmlan_forward, "address"));
  });
  return bytes;
}

/**
 * The macOS PortPublisher. vmnet's rules live in the process that holds a network, which asks
 * `rulesFor` when it creates one; a one-shot command holds nothing, so there is nothing to sync into
 * the kernel from it and nothing to lock. The rest goes to the services daemon's proxies: the host
 * side is always "vmnet" (an active attachment's guest is on a network some process holds), so the
 * daemon serves every active attachment's proxied ports. `vmnetForwards: false` (macOS 15 and older,
 * where no interface is given the rules yet) proxies every port.
 */
export function darwinPorts(state: { rulesFor: (network: string) => PortRule[] }, o: { vmnetForwards: boolean }): PortPublisher {
  return {
    syncPorts: async () => {},
    instance: () => VMNET_HOST_SIDE,
    probeHostPort: () => null, // vmnet reports a port it cannot take when the holder adds the rule; the daemon logs a hold it cannot take
    withLock: (_path, fn) => fn(),
    carrier: o.vmnetForwards ? darwinCarrier : () => "proxy",
    useRules: (provide) => { state.rulesFor = provide; },
  };
}
