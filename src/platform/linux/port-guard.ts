/**
 * Anti-spoofing on the ports vmlan makes (issue #12 item 2): guardPort installs a port's rules
 * (port-guard-rules.ts) in the kernel before any frame can arrive, and the returned guard reports
 * the MAC the port learned, re-renders the rules when the port's lease changes, and removes them
 * once the TAP is gone. Rules of ports that went without removing theirs (a SIGKILLed helper, a
 * detached VM that stopped) are swept: around a new port of a long-lived maker on the same network
 * (not a CNI ADD's: see guardPort), by `system start` and by the services daemon at each reconcile.
 * Removal is fail-closed: the rules of a TAP that still exists (its fd lives on in some process)
 * stay until it goes.
 */
import { libc } from "../../../ffi/libc/load.ts";
import { HostError } from "../../core/errors.ts";
import type { PortGuard, PortIdentity } from "../types.ts";
import { applyScript, runNft } from "./nft.ts";
import { openTap, type Tap, type TapOffload } from "./tap.ts";
import { GUARD_TABLE_NAME, macSet, portChain, portScript, removePortScript, tableScript, type GuardedPort } from "./port-guard-rules.ts";
import { installNewPort } from "./port-guard-netlink.ts";
import { guardInventory, ifindexExists, isDispatchedIn, portMac, sweepGuards } from "./port-guard-table.ts";

export { sweepAllGuards, sweepGuards } from "./port-guard-table.ts";

function ifindexOf(ifname: string): number {
  return libc().if_nametoindex(Buffer.from(`${ifname}\0`));
}

/**
 * Whether port `ifindex` has its rules in the table, the map dispatches its frames to them, and the
 * base chain dispatches through the map (CNI CHECK). Two queries: with a second `list` in one call,
 * libnftables 1.0.6 reads only the last one's chain into its cache and fails the first.
 */
export function isGuarded(bridge: string, ifindex: number): boolean {
  const chain = portChain(bridge, ifindex);
  const t = `bridge ${GUARD_TABLE_NAME}`;
  const port = runNft(["-f", "-"], `list chain ${t} ${chain}\nget element ${t} ports { ${ifindex} }\n`);
  if (port.code !== 0 || !new RegExp(`jump ${chain}(?![\\w.-])`).test(port.stdout)) return false;
  const base = runNft(["list", "chain", "bridge", GUARD_TABLE_NAME, "guard"]);
  return base.code === 0 && /\biif vmap @ports\b/.test(base.stdout);
}

/**
 * Removes the rules of port `ifindex` on `bridge` once its interface is gone (a container's veth the
 * CNI plugin deleted, in a process that did not guard it); nothing when there are none. Fail-closed as
 * release(): the rules of an interface that still exists stay. `pinned`: the MAC the port was pinned
 * to, when the caller knows it (a container's, from the store): one script, no listing of the table.
 */
export function forgetPort(bridge: string, ifindex: number, pinned?: string): boolean {
  if (ifindexExists(ifindex)) return false;
  if (pinned !== undefined) {
    applyScript(removePortScript(bridge, ifindex, pinned), `remove the rules of port ${ifindex} on ${bridge}`);
    return true;
  }
  const inv = guardInventory();
  const ports = inv.ports.get(bridge);
  if (!ports?.has(ifindex)) return false;
  applyScript(removePortScript(bridge, ifindex, portMac(inv, bridge, ifindex), isDispatchedIn(inv, bridge, ifindex)), `remove the rules of port ${ifindex} on ${bridge}`);
  return true;
}

/** The port's MAC as the kernel learned it (the dynamic set's one element), or null. */
function learnedMac(bridge: string, ifindex: number): string | null {
  const r = runNft(["-j", "list", "set", "bridge", GUARD_TABLE_NAME, macSet(bridge, ifindex)]);
  if (r.code !== 0) return null;
  const items = (JSON.parse(r.stdout) as { nftables: Array<{ set?: { elem?: unknown[] } }> }).nftables;
  const elem = items.find((i) => i.set)?.set?.elem?.[0];
  return typeof elem === "string" ? elem : null;
}

/** A maker of many ports (the switch, the broker) sweeps a network at most this often: each sweep lists the table. */
const SWEEP_EVERY_MS = 30_000;
const lastSweep = new Map<string, number>();

/**
 * Hygiene next to a new port, off its path: stale rules never apply to a new port (ifindex keys); what
 * a gone port leaves that matters is its MAC in `claimed`, which a new port (a VM restarted after its
 * helper was SIGKILLed) could not learn. So the sweep runs right after the caller's current step (a
 * helper: after its start line, long before its VM's first frame), not before the port: listing the
 * table costs a few ms per start and grows with the ports. Still in this process: a short-lived one
 * runs it before it exits. `system start` and the services daemon sweep too.
 */
function sweepSometimes(bridge: string): void {
  const now = Date.now();
  if (now - (lastSweep.get(bridge) ?? 0) < SWEEP_EVERY_MS) return;
  lastSweep.set(bridge, now);
  setTimeout(() => {
    try {
      sweepGuards(bridge);
    } catch (e) {
      process.stderr.write(`vmlan: sweeping the rules of gone ports on ${bridge}: ${(e as Error).message}\n`);
    }
  }, 0);
}

/**
 * A new port's rules, pinned or learning, in one transaction: our own nf_tables batch
 * (port-guard-netlink.ts: libnftables' parse and cache fill before each transaction were most of a
 * CNI ADD's guard and of a helper's). The port's part alone when the network's part of the table is
 * there, as it is once the network is set up (the skeleton's constant sets and a repaired base chain
 * cost about as much as the port's own lines: SHARED_SETS); it fails as a whole if any of it is
 * missing (a table someone deleted), and then portScript's text goes with the skeleton first, which
 * also names nft's error if that fails too.
 */
function install(bridge: string, port: GuardedPort, what: string): void {
  try {
    installNewPort(bridge, port);
  } catch {
    applyScript(tableScript(bridge) + portScript(bridge, port), what);
  }
}

/**
 * Guards the port `ifname` (a TAP on `bridge`) with `identity`; returns null when it opted out
 * (allowSpoofing). Throws HostError when the rules cannot be installed: a port is never handed out
 * unguarded by accident. `sweep: false`: a run-once caller (a CNI ADD) leaves the hygiene to the
 * sweepers (CNI GC, the services daemon, `system start`): stale rules are keyed by ifindexes that are
 * gone and never apply to a new port, so sweeping first changes nothing for this one. `ifindex`:
 * the port's, when its maker has it already (a name lookup less).
 */
export function guardPort(bridge: string, ifname: string, identity: PortIdentity, o: { sweep?: boolean; ifindex?: number } = {}): PortGuard | null {
  if (identity.allowSpoofing) return null;
  const ifindex = o.ifindex ?? ifindexOf(ifname);
  if (ifindex === 0) throw new HostError(`cannot guard port ${ifname}: no such interface`);
  if (o.sweep !== false) sweepSometimes(bridge);
  let current: GuardedPort = { ifindex, mac: identity.mac, lease: identity.lease };
  install(bridge, current, `install the rules of port ${ifname} on ${bridge}`);
  let released = false;
  return {
    ifname,
    mac: () => current.mac ?? learnedMac(bridge, ifindex),
    update(next) {
      const previous = current.mac;
      // A pinned port stays pinned (its maker only ever pins; a learning set made anew would learn again).
      current = { ifindex, mac: next.mac ?? previous, lease: next.lease };
      applyScript(portScript(bridge, current, previous), `update the rules of port ${ifname} on ${bridge}`);
    },
    release() {
      if (released || ifindexExists(ifindex)) return;
      released = true;
      applyScript(removePortScript(bridge, ifindex, current.mac), `remove the rules of port ${ifname} on ${bridge}`);
    },
  };
}

/**
 * A TAP on `bridge`, guarded before it is returned (closed again if the rules cannot be installed).
 * `guardLater`: returned unguarded, with guardNow() that installs its rules (PortOptions.guardLater:
 * the caller calls it before it writes a frame to the fd, the only way frames reach the bridge from it).
 */
export function openGuardedTap(bridge: string, identity: PortIdentity, o: { inheritable?: boolean; isolated?: boolean; offload?: TapOffload; guardLater?: boolean } = {}): Tap & { guard?: PortGuard | null; guardNow?(): PortGuard | null } {
  const tap = openTap({ bridge, cloexec: !o.inheritable, isolated: o.isolated, offload: o.offload });
  const base = { fd: tap.fd, ifname: tap.ifname, index: tap.index, close: () => tap.close() };
  let asked = false;
  const guardNow = () => {
    if (asked) throw new HostError(`the rules of port ${tap.ifname} were asked for twice`);
    asked = true;
    return guardPort(bridge, tap.ifname, identity, { ifindex: tap.index });
  };
  if (o.guardLater) return { ...base, guardNow };
  try {
    return { ...base, guard: guardNow() };
  } catch (e) {
    tap.close();
    throw e;
  }
}
