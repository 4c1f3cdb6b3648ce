/**
 * Composition for the per-VM datapath (`vmlan helper`, `vmlan run --native`): IPAM through the
 * LeaseService, a check that the network's host side is up, and a TAP on its bridge from the Linux
 * platform (loaded lazily, so other commands never load it).
 */
import { leaseService, networkService } from "../context.ts";
import { UsageError, VmlanError } from "../../core/errors.ts";
import type { HelperClaim, HelperDeps, HelperLease, HostPort } from "../../datapath/helper.ts";
import { selfOwner } from "../owners.ts";
import type { Owner } from "../../core/resources/attachment.ts";
import { openGuardedPort, type PortLease } from "../guarded-port.ts";
import type { StartLine } from "../../datapath/start-line.ts";
import type { HostNetworkSpec, TapOpener, VmnetHostPort, VmnetPortOpener } from "../../platform/types.ts";
import { hostSpec } from "../../core/network-config.ts";
import type { NetworkService } from "../../core/networks.ts";
import type { LeaseService } from "../../core/leases.ts";
import type { Network } from "../../core/resources/network.ts";
import { intToV4 } from "../../core/ipam/subnet.ts";
import { poolOf } from "../../core/ipam/addressing.ts";

export { newInterfaceId, offloadOf, type PortRequest } from "../port-request.ts";
import { offloadOf, type PortRequest } from "../port-request.ts";

/**
 * Returns the bridge of a network whose host side is up, or a clear error naming the fix. Its link
 * alone (not inspect's view: no attachment count, no rules), as on every helper's start.
 */
export async function bridgeOf(network: string, svc?: NetworkService): Promise<string> {
  const s = svc ?? (await networkService(true));
  const spec = hostSpec(s.get(network));
  const host = s.platform ? await s.platform.status(spec, { rules: false }) : undefined;
  if (!host?.up) {
    const why = host?.detail ? ` (${host.detail})` : "";
    throw new VmlanError(`network "${network}" is not up${why}; run \`vmlan system start\` first`, { code: "ENETDOWN", exitCode: 6, details: { network } });
  }
  return spec.bridge;
}

/**
 * `vmlan run`'s check before anything starts. On macOS 26 a network is up only while some process
 * holds it (the broker, or the port itself: a helper, or run's own vmnet interface with --native), so
 * "up in this process" cannot be asked of a one-shot command: the network must exist, and the port
 * brings it up. Elsewhere the bridge must be up.
 */
export async function checkHostSide(network: string, svc: NetworkService): Promise<void> {
  if (svc.platform && "serveNetworks" in svc.platform) return void svc.get(network);
  await bridgeOf(network, svc);
}

/**
 * The platform's port opener (platform/index.ts picks it): a TAP on the bridge on Linux, which the
 * kernel removes with its last fd even if vmlan dies; a datagram fd forwarded to a vmnet interface on
 * macOS. Ports reach a child through its stdio array (dup2 clears close-on-exec there).
 */
export async function tapOpener(svc?: NetworkService, port: PortRequest = {}, leases: () => LeaseService = leaseService, o: { guardLater?: boolean } = {}): Promise<(network: string, lease: PortLease | null) => HostPort> {
  const s = svc ?? (await networkService(true));
  const p = s.platform;
  if (!p || !("openTap" in p)) throw new VmlanError(`this platform cannot open a port on a network for a VM`, { code: "EUNSUPPORTED", exitCode: 6 });
  const opener = p as unknown as TapOpener;
  const offload = offloadOf(port);
  // Guarded for `lease` (or learning, without one), its lease following the MAC the port learns (issue #12 item 2).
  return (network, lease) => {
    const tap = openGuardedPort(opener, hostSpec(s.get(network)), lease, leases, { isolated: port.isolation, offload, guardLater: o.guardLater });
    const later = tap.guardNow;
    return { ...tap, offload, ...(later ? { beforeFirstFrame: () => void later() } : {}) };
  };
}

/** The start line's view of a network: the last address handed out and the IPv6 prefix. */
function addressing(n: Network | null): Pick<HelperLease, "rangeEnd" | "ipv6Prefix" | "ipv6PrefixLength"> {
  if (!n) return {};
  const [prefix, len] = n.subnetV6 ? n.subnetV6.split("/") : [null, null];
  return { rangeEnd: intToV4(poolOf(n).last), ipv6Prefix: prefix ?? null, ipv6PrefixLength: len ? Number(len) : null };
}

/** Who owns a claimed attachment: this process by default; the helper on the other end of the services daemon's socket there. */
export type OwnerOf = (socket: string | null) => Owner;

/** `claim`: this process owns the attachment (a dead owner's attachment is released as an orphan). */
export function attachLease(network: string, id: string, mac?: string, claim?: HelperClaim | null, allowSpoofing?: boolean, leases: LeaseService = leaseService(), owner: OwnerOf = selfOwner): HelperLease {
  const { attachment: a } = leases.attach({ network, id, mac, owner: claim ? owner(claim.socket) : undefined, allowSpoofing });
  return {
    id: a.id, network: a.network, mac: a.mac, address: a.address, prefixLength: a.prefixLength, gateway: a.gateway, hostname: a.hostname, mtu: a.mtu,
    ...addressing(leases.store.getNetwork(network)), addressV6: a.addressV6, allowSpoofing: a.allowSpoofing,
  };
}

export function releaseLease(lease: HelperLease, leases: LeaseService = leaseService()): void {
  leases.detach(lease.network, lease.id, { ifExists: true });
}

/**
 * The helper's dependencies for one network; the bridge is checked before anything is allocated. The
 * port's rules come with its beforeFirstFrame() (runHelper: after the start line, before it forwards).
 */
export async function helperDeps(network: string, id: string, mac?: string, port: PortRequest = {}, service?: NetworkService, owner?: OwnerOf): Promise<HelperDeps> {
  const svc = service ?? (await networkService(true)); // one store and platform for both questions below
  // The lease's whole life (attach, the port following it, release) on the service's connection.
  const leases = leaseService(svc.store);
  const attach = (claim: HelperClaim | null) => attachLease(network, id, mac, claim, port.allowSpoofing, leases, owner);
  const release = (lease: HelperLease) => releaseLease(lease, leases);
  const vmnet = vmnetHostPorts(svc, network, id, port);
  if (vmnet) return { attach, release, openHostPort: vmnet };
  await bridgeOf(network, svc); // refuses a network that is down before anything is allocated
  const open = await tapOpener(svc, port, () => leases, { guardLater: true });
  return { attach, release, openHostPort: (lease) => open(network, lease) };
}

export function parseFd(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 2 ** 31 - 1) throw new UsageError(`invalid ${flag} "${value}": expected a file descriptor number`);
  return Number(value);
}

/** The start line of a vmnet host port: vmnet's interface_param (as vmnet-helper prints it), then vmlan's keys. */
export function vmnetStartLine(base: StartLine, port: VmnetHostPort, req: PortRequest = {}): Record<string, unknown> {
  const vmlan = Object.entries(base).filter(([k]) => k.startsWith("vmlan_") && k !== "vmlan_tap");
  // vmnet picks the interface's MAC (random with a macOS 26 network); any MAC works on vmnet, so the
  // lease's stable one is offered too, as vmlan_mac. vmnet itself does the offloads it was asked for.
  const offloads = { vmlan_isolation: Boolean(req.isolation), vmlan_tso: Boolean(req.tso), vmlan_checksum_offload: Boolean(req.checksumOffload) };
  return { ...port.params, ...Object.fromEntries(vmlan), ...offloads, vmlan_mac: base.vmnet_mac_address, vmlan_host_port: "vmnet" };
}

/**
 * On a platform whose host side is an in-process vmnet interface (macOS): the opener for
 * `network`, or null elsewhere. No "is it up" check: the helper itself holds the network (macOS 26)
 * or uses vmnet's shared one (macOS 15); the platform names what this macOS cannot do.
 */
function vmnetHostPorts(svc: NetworkService, network: string, id: string, req: PortRequest): (() => HostPort) | null {
  const p = svc.platform;
  if (!p || !("openVmnetPort" in p)) return null;
  const spec = hostSpec(svc.get(network));
  return vmnetHostPort(p as unknown as VmnetPortOpener, spec, id, req);
}

/** A vmnet interface in this process as the helper's host port (also `helper --broker` on macOS 26). */
export function vmnetHostPort(opener: VmnetPortOpener, spec: HostNetworkSpec, id: string, req: PortRequest = {}): () => HostPort {
  return () => {
    const port = opener.openVmnetPort(spec, { interfaceId: id, dropPrivileges: true, isolation: req.isolation, tso: req.tso, checksumOffload: req.checksumOffload });
    const { ref, mac, maxPacketSize, readMaxPackets, writeMaxPackets } = port;
    return {
      fd: port.eventFd, ifname: "", vmnet: { ref, mac, maxPacketSize, readMaxPackets, writeMaxPackets },
      startLine: (base) => vmnetStartLine(base, port, req), close: () => port.close(),
    };
  };
}
