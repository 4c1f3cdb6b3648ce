/**
 * Containers on a network's bridge (the CNI plugin, src/cni): a veth whose host end is a port of
 * the bridge and whose other end lives in the container's network namespace. Types only; Linux
 * implements it in platform/linux/container.ts. Every method is idempotent where the CNI spec
 * asks for it (remove tolerates missing objects, the namespace included).
 */
import type { PortIdentity } from "./types.ts";

export interface ContainerLinkSpec {
  /** Path of the container's network namespace (CNI_NETNS), e.g. /run/netns/x or /proc/PID/ns/net. */
  netns: string;
  /** Interface name inside the container (CNI_IFNAME). */
  ifname: string;
  /** Host end's name, derived from the attachment (<= 15 bytes). */
  hostIfname: string;
  /** Alias on the host end marking it as ours ("vmlan-cni:<network>:<attachment id>"). */
  alias: string;
  bridge: string;
  mac: string;
  mtu: number;
  /** CIDR addresses for the container end, e.g. "192.168.64.5/24". */
  addresses: string[];
  /** Routes via the container end; `gw` absent = on-link. */
  routes: { dst: string; gw?: string }[];
  /** What the host end lets in from the container (its MAC and addresses: anti-spoofing, issue #12 item 2). */
  identity: PortIdentity;
}

export interface ContainerLinkState {
  /** The interface inside the container, when it exists. */
  container: { mac: string; mtu: number; up: boolean; addresses: string[]; routes: { dst: string; gw?: string }[] } | null;
  /** The host end: exists, carries our alias, is a port of the bridge and up, has its anti-spoofing rules. */
  host: { index: number; up: boolean; onBridge: boolean; ours: boolean; guarded: boolean } | null;
}

export interface ContainerLinker {
  /**
   * Creates the veth pair, guards its host end (before it is up) and configures the container end;
   * fails when ifname exists there.
   * Returns the routes it installed: a route the container already has through another interface
   * (its default route, when it is on two shared networks) is left to that interface.
   */
  addContainerLink(spec: ContainerLinkSpec): { hostMac: string; routes: { dst: string; gw?: string }[] };
  /**
   * Deletes the pair through its host end when it is ours: our alias, or (an ADD killed before it
   * set the alias) a veth without alias on `bridge`, and its port's rules. A missing one is fine.
   * `pinned`: what the caller knows of the port's rules from the store (null: none, allowSpoofing;
   * a MAC: the one they pin), so none are listed; absent: the rules are looked up.
   * Returns whether one was deleted.
   */
  removeContainerLink(o: { hostIfname: string; alias: string; bridge: string; pinned?: string | null }): boolean;
  inspectContainerLink(o: { netns: string; ifname: string; hostIfname: string; alias: string; bridge: string }): ContainerLinkState;
  /** Removes the anti-spoofing rules of the bridge's ports that are gone (veths gone with their namespaces); how many. */
  sweepGuards(bridge: string): number;
  /** Cheap readiness check (netlink only): the bridge exists, carries the network's alias and is up. */
  bridgeUp(bridge: string, network: string): boolean;
  /** `netns` is the namespace this process runs in (the spec forbids configuring it), another, or none (why). */
  netnsKind(netns: string): "own" | "other" | { problem: string };
  /** Runs fn holding an exclusive lock on `path` (flock; released when the process dies). */
  withLock<T>(path: string, fn: () => Promise<T>): Promise<T>;
  /** An ADD's host work without I/O, on made-up values, for the JIT (cni/warm.ts); no effect on the host. */
  warm?(): void;
}
