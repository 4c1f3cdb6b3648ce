/**
 * Published ports on macOS: vmnet's own port forwarding where vmnet can do what the spec says, and
 * a plain refusal where it cannot (docs/ports.md):
 *   - vmnet forwards an external port with no host address (Apple's vmnet documentation for both
 *     calls below takes only the port), i.e. on the host's addresses at large: so only wildcard specs
 *     (0.0.0.0, [::]) on shared networks map to vmnet rules;
 *   - macOS 26: vmnet_network_configuration_add_port_forwarding_rule, in the configuration the
 *     network is created from (the process that holds it: broker, helper, VM host); vmnet takes rules
 *     nowhere else for such a network (its interfaces refuse the interface calls, a field report on
 *     macOS 27), so a port added while the network is held applies when it is created again;
 *   - older: vmnet_interface_add_ip_port_forwarding_rule on a started classic interface (macOS 11+);
 *   - 127.0.0.1 / [::1] / one host address, and host-only networks, need a userspace proxy in the
 *     holding process, which vmlan does not have on macOS yet: such specs are refused (exit 2).
 */
import { alloc, offsetOf } from "../../../ffi/layout.ts";
import { vmlan_forward } from "../../../ffi/vmnet/structs.ts";
import { familyOf, formatPortSpec, isUnspecified, type PortSpec } from "../../core/ports/spec.ts";
import type { PortRule } from "../../core/ports/state.ts";
import type { HostNetworkSpec, PortPublisher } from "../types.ts";
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

/** Why vmnet cannot publish `spec` on a network of `mode`, or null when it can. */
export function vmnetCannot(spec: PortSpec, mode: HostNetworkSpec["mode"]): string | null {
  if (mode !== "shared") return `on macOS vmnet forwards ports only on shared networks; a ${mode} network needs a userspace proxy, which vmlan does not have on macOS yet`;
  if (!isUnspecified(spec.hostIp)) {
    const any = familyOf(spec.hostIp) === 6 ? "[::]" : "0.0.0.0";
    return `on macOS vmnet forwards a port on all of the host's addresses, so ${formatPortSpec(spec)} (one address) needs a userspace proxy, which vmlan does not have on macOS yet; publish ${any}:${spec.hostPort} to use vmnet's forwarding`;
  }
  return null;
}

/** The vmnet rules for what vmnet can publish (one per port of a range); the rest is left out. */
export function vmnetForwards(rules: PortRule[], mode: HostNetworkSpec["mode"]): VmnetForward[] {
  const out: VmnetForward[] = [];
  for (const r of rules) {
    if (vmnetCannot(r, mode)) continue;
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
 * The macOS PortPublisher. Rules live in the process that holds a network, which asks `rulesFor`
 * when it creates one; a one-shot command holds nothing, so there is nothing to sync into the
 * kernel from it (instance() is null) and nothing to lock.
 */
export function darwinPorts(state: { rulesFor: (network: string) => PortRule[] }): PortPublisher {
  return {
    syncPorts: async () => {},
    instance: () => null,
    probeHostPort: () => null, // vmnet reports a port it cannot take when the holder adds the rule
    withLock: (_path, fn) => fn(),
    refuse: (spec, mode) => vmnetCannot(spec, mode),
    useRules: (provide) => { state.rulesFor = provide; },
  };
}
