/**
 * The one interface the core and the CLI use to touch the host's networking.
 * Linux: bridges, TAPs and nftables (platform/linux). macOS: vmnet (platform/darwin, later).
 * Every method is idempotent: "ensure" creates what is missing and keeps what is right,
 * "remove" tolerates objects that are already gone.
 */
import type { PortRule } from "../core/ports/state.ts";
import type { PortSpec } from "../core/ports/spec.ts";
import type { UplinkJournal, UplinkInfo, UplinkCandidate } from "./uplink-types.ts";

export interface HostNetworkSpec {
  name: string;
  /** Host-side interface name (bridge on Linux), <= 15 bytes, unique. */
  bridge: string;
  mode: "shared" | "host" | "bridged";
  /** IPv4 network in CIDR form, e.g. "192.168.64.0/24" */
  subnet: string;
  /** subnet + 1, the host's address on the network */
  gateway: string;
  /** IPv6 prefix in CIDR form, or null */
  subnetV6: string | null;
  gatewayV6: string | null;
  mtu: number;
  /** Bridged mode: the host interface enslaved to the bridge; null or absent otherwise. */
  uplink?: string | null;
  /**
   * Bridged mode: the store's record of what was moved from the uplink. ensureNetwork and
   * removeNetwork of a bridged network need it (they refuse without); other calls ignore it.
   */
  journal?: UplinkJournal;
}

/** A network's objects on the host as the host shows them, whether or not a store knows it. */
export interface HostNetworkObjects {
  bridge: string;
  /** The network the bridge is marked as (Linux: its alias); null: rules only, no bridge of ours. */
  network: string | null;
  bridgeExists: boolean;
  /** Interfaces enslaved to the bridge (a guest's TAP, a bridged uplink): in use, so never pruned. */
  ports: string[];
  /** Whether firewall rules (NAT, anti-spoofing) exist for the bridge. */
  rules: boolean;
}

export type { MovedAddress, MovedRoute, UplinkMoved, UplinkJournal, UplinkInfo, UplinkCandidate } from "./uplink-types.ts";

export interface HostNetworkStatus {
  name: string;
  bridge: string;
  /** host-side interface exists, is ours and is up */
  up: boolean;
  /** addresses the kernel reports on it, CIDR form */
  addresses: string[];
  /** NAT rules in place (shared mode) */
  nat: boolean;
  /** Interfaces attached to the host side (TAPs on the bridge), where the platform can tell. */
  ports?: number;
  detail?: string;
}

/**
 * `rules: false`: only whether the host side is up, for a caller that asks just that (a helper's
 * start): Linux then reads the bridge's link alone, with no nft listing (about 10 ms of a helper's
 * ready line), no address dump and no dump of every link to count its ports (which grows with the
 * ports), so `nat` is false, `addresses` empty, `ports` unset and a missing table goes unreported.
 * `up` is the same either way.
 */
export interface StatusOptions {
  rules?: boolean;
}

export interface Platform {
  readonly os: "linux" | "darwin";
  /** Throws PermissionError (with a fix) when this process cannot manage host networking. */
  checkPrivileges(): void;
  /**
   * Throws ConflictError naming the route when `cidr` overlaps a route on the host that is not
   * on `bridge` (ours). Default routes (0/0, ::/0) are ignored.
   */
  checkSubnetFree(cidr: string, bridge: string): Promise<void>;
  /** Creates or repairs the host side of a network: bridge, gateway addresses, up, NAT/isolation rules. */
  ensureNetwork(spec: HostNetworkSpec): Promise<void>;
  /** Removes the host side of a network. Refuses (ConflictError) to remove an interface that is not ours. */
  removeNetwork(spec: HostNetworkSpec): Promise<void>;
  /**
   * Optional: ensureNetwork / removeNetwork for many networks at once (`system start` / `stop`),
   * where one call for all is cheaper than one per network (Linux: every nftables table in one
   * transaction). The same end state, one result per spec in order (null = done). Without them,
   * callers call ensureNetwork / removeNetwork once per network.
   */
  ensureNetworks?(specs: HostNetworkSpec[]): Promise<Array<Error | null>>;
  removeNetworks?(specs: HostNetworkSpec[]): Promise<Array<Error | null>>;
  /** What the kernel says about a network's host side. Never throws for a missing network. */
  status(spec: HostNetworkSpec, opts?: StatusOptions): Promise<HostNetworkStatus>;
  /**
   * Checks that `name` can become a bridged network's uplink (exists, not loopback, not a bridge,
   * not enslaved elsewhere, not vmlan's; `bridge` is the network's own, which it may already be
   * on) and describes it. Changes nothing. Throws UsageError / NotFoundError / ConflictError.
   */
  probeUplink(name: string, bridge: string): Promise<UplinkInfo>;
  /** Interfaces that could be uplinks, in the platform's order (vmnet-helper --list-shared-interfaces). */
  listUplinks(): Promise<UplinkCandidate[]>;
  /**
   * The MTUs this host's VMs can use, when narrower than vmlan's 576..65535 (macOS: a
   * Virtualization.framework NIC takes 1500..65535); `network create` refuses others before anything is stored.
   */
  readonly mtuRange?: { min: number; max: number; why: string };
  /**
   * Where vmlan's DHCP and DNS serve a network, when that is not its stored bridge: on macOS 26 the
   * interface vmnet made for it, found by the gateway address vmnet gives the host there; null while it
   * does not exist. Absent: the stored bridge (Linux), or no vmlan services at all (macOS 15: vmnet's).
   */
  serviceInterface?(spec: HostNetworkSpec): string | null;
  /** Removes the anti-spoofing rules of ports that are gone (a SIGKILLed helper's, a stopped detached VM's); returns how many. */
  sweepPorts?(): number;
  /** Networks vmlan made on this host, by any state dir (`system prune` removes those no store here knows). */
  listHostNetworks?(): HostNetworkObjects[];
  /** Removes one of them as `network rm` would (a bridge not marked as vmlan's stays; its rules go). */
  removeHostNetwork?(o: HostNetworkObjects): void;
  /** Published ports (issue #14), where the platform can publish them (docs/ports.md). */
  readonly ports?: PortPublisher;
}

/** Who holds a host port that could not be bound: a process when the platform can tell. */
export interface PortHolder {
  pid: number | null;
  program: string | null;
}

export type PortCarrier = "kernel" | "proxy" | "vmnet";

/** Publishing host ports to guests: the platform's datapath for `vmlan port` and `-p`. */
export interface PortPublisher {
  /**
   * Replaces the network's published ports with exactly `rules` (none: removes them all), atomically.
   * Idempotent; a network whose host side is down is left alone.
   */
  syncPorts(spec: HostNetworkSpec, rules: PortRule[]): Promise<void>;
  /**
   * What identifies the network's host side as it is now (Linux: the bridge's ifindex, which a
   * recreated bridge changes), or null when it is down: rules are synced only onto a live host
   * side, and again once it was recreated.
   */
  instance(spec: HostNetworkSpec): string | null;
  /**
   * Null when every port of the spec's host range could be bound on its address now, else the first
   * holder. Throws UsageError when the address is not one of this host's.
   */
  probeHostPort(spec: PortSpec): PortHolder | null;
  /** Runs fn under an exclusive lock on `path`, across processes (syncs from the CLI and the daemon are serialised). */
  withLock<T>(path: string, fn: () => Promise<T>): Promise<T>;
  /**
   * What carries `spec` on a network of `mode` (absent: "kernel"): "kernel", rules syncPorts installs,
   * whose host ports the services daemon holds against other programs; "proxy", the daemon's own
   * socket on the port relaying to the guest (what the platform's datapath cannot do); "vmnet",
   * vmnet's forwarding in the process that holds the network, which binds the port itself.
   */
  carrier?(spec: PortSpec, mode: HostNetworkSpec["mode"]): PortCarrier;
  /**
   * Platforms whose rules live in the process holding a network (macOS) ask `provide` for a
   * network's rules when that process creates it; the composition root hands it the store's.
   */
  useRules?(provide: (network: string) => PortRule[]): void;
}

/**
 * What a VM's port may send (issue #12 item 2; on Linux, nftables rules in the kernel:
 * platform/linux/port-guard.ts). A port's MAC is the first source MAC it sees unless one is given;
 * with a lease, DHCP from 0.0.0.0 is let through only for the lease's MAC, IPv4 and ARP only from its
 * address, IPv6 only from its addresses (and :: for DAD).
 */
export interface PortIdentity {
  /** The port's MAC; null: the first source MAC the port sees becomes it. */
  mac: string | null;
  /**
   * The port's lease; null: not known yet (IPv4/IPv6 sources are checked once it is). `static`: IPv4
   * ranges vmlan leaves to static addresses (outside a narrower pool), also allowed as sources.
   */
  lease: { mac: string; ipv4: string; ipv6: string[]; static?: string[] } | null;
  /** `--allow-spoofing`: the port gets no rules at all. */
  allowSpoofing?: boolean;
}

/** The rules of one port, as the port's maker holds them. */
export interface PortGuard {
  readonly ifname: string;
  /** The port's MAC: the given one, or the first source MAC the kernel saw on it; null before any frame. */
  mac(): string | null;
  /** Replaces the rules (the lease followed the port's MAC, DHCP gave the port's MAC an address). */
  update(identity: PortIdentity): void;
  /** Removes the rules once the TAP is gone; a TAP that still exists keeps them (they are swept later). */
  release(): void;
}

/** A TAP (or equivalent) port on a network's host side, open in this process. */
export interface TapPort {
  fd: number;
  ifname: string;
  close(): void;
  /** Its anti-spoofing rules (Linux); null with allowSpoofing, absent where vmlan guards no port (vmnet). */
  guard?: PortGuard | null;
  /**
   * Opened with `guardLater`: installs the rules (null with allowSpoofing), throwing as openTap would
   * have; the caller calls it before it writes a frame to the fd. Once only.
   */
  guardNow?(): PortGuard | null;
  /**
   * Set when the port's host side lives in the process that opened it (macOS: the broker runs the
   * vmnet interface and forwards to the fd it handed out): the broker calls it when the client that
   * got the fd releases the network or disconnects. Absent for a TAP, which lives in its fd.
   */
  release?(): Promise<void>;
}

/** Per-port options: `isolated` keeps the port from reaching other isolated ports (vmnet's enable_isolation). */
export interface PortOptions {
  isolated?: boolean;
  /**
   * Frames with a virtio-net header, unfinished checksums ("checksum") and TSO segments up to 64 KiB
   * ("tso"): vmnet-helper's --enable-checksum-offload / --enable-tso on a TAP (datapath/offload/).
   */
  offload?: "checksum" | "tso";
  /**
   * The rules are installed by the caller, with the port's guardNow(), before it writes the first
   * frame to the fd (a helper: after its start line, off the ready path). Until then nothing reaches
   * the bridge from the port: a TAP's frames come only from its fd.
   */
  guardLater?: boolean;
}

/** Platforms that can open a port on a network for another process (the broker hands the fd out). */
export interface TapOpener {
  /**
   * The one way every port maker (helper, run --native, vm run, the broker, the switch) gets a port:
   * on Linux a TAP on the bridge, guarded with `identity` before anything can send on it.
   */
  openTap(spec: HostNetworkSpec, identity: PortIdentity, o?: PortOptions): TapPort;
}

/**
 * A vmnet interface started in this process (macOS), as the numbers a forwarding Worker needs: the
 * interface_ref and the event pipe (shims/vmnet-trampolines.c) are plain numbers, valid process-wide
 * until close(). `params` is vmnet's interface_param (vmnet-helper's JSON keys, plus net_* with a
 * macOS 26 network).
 */
export interface VmnetHostPort {
  ref: number;
  eventFd: number;
  mac: string;
  maxPacketSize: number;
  readMaxPackets: number;
  writeMaxPackets: number;
  params: Record<string, string | number>;
  /** vmnet_stop_interface (and drop the network reference taken for this port). Idempotent. */
  close(): void;
}

/** vmnet interface options: vmnet-helper's --interface-id, --enable-isolation, --enable-tso, --enable-checksum-offload. */
export interface VmnetPortOptions {
  interfaceId?: string;
  dropPrivileges?: boolean;
  isolation?: boolean;
  tso?: boolean;
  checksumOffload?: boolean;
}

/** Platforms whose host side is a vmnet interface started in-process (platform/darwin). */
export interface VmnetPortOpener {
  /** dropPrivileges: the helper, once the interface started, leaves root for the sudo user (privileges.ts). */
  openVmnetPort(spec: HostNetworkSpec, o: VmnetPortOptions): VmnetHostPort;
}
