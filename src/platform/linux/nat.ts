/**
 * NAT and isolation rules through nft (nft.ts: libnftables in-process, or the binary), one table per network:
 * `table inet vmlan_<bridge>`. Each setup replaces the network's own chains in one transaction
 * (add chain, flush chain, add rule ...), so it is idempotent and never half-applied, and leaves
 * the published ports' chains (ports.ts) alone. Removing the network deletes the whole table.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { HostError, UsageError } from "../../core/errors.ts";
import { checkIfname, parseNetwork } from "./ip.ts";
import { applyScript, runNft } from "./nft.ts";

export interface NatSpec {
  bridge: string;
  mode: "shared" | "host";
  subnet: string;
  subnetV6: string | null;
}

/** Every vmlan bridge starts with this; used to isolate networks from each other. */
export const BRIDGE_WILDCARD = "vl-*";

/** nft identifiers may contain '-' and '.' after the first letter, so the bridge name is kept as is (no collisions). */
export function natTableName(bridge: string): string {
  return `vmlan_${checkIfname(bridge)}`;
}

/** Chain name → its base-chain declaration: the network's own chains (ports.ts has the published ports' chains). */
const CHAINS = {
  forward: "type filter hook forward priority filter; policy accept;",
  postrouting: "type nat hook postrouting priority srcnat; policy accept;",
  guard: "type filter hook prerouting priority raw; policy accept;",
} as const;

/**
 * The nft script for a network. It replaces the network's own chains (add, flush, fill) and never
 * the whole table, so the published ports' chains (ports.ts) survive `system start`, `vm run` and
 * every other ensureNetwork. One transaction: nothing is half applied. Every value is validated
 * before it is interpolated.
 */
export function natScript(spec: NatSpec): string {
  if (spec.mode !== "shared" && spec.mode !== "host") throw new UsageError(`invalid network mode "${String(spec.mode)}": use shared or host`);
  const t = `inet ${natTableName(spec.bridge)}`;
  const b = `"${spec.bridge}"`;
  const forward = [
      // Frames between guests of the same network (seen here only with br_netfilter loaded).
      `iifname ${b} oifname ${b} accept`,
      // Published ports (DNAT to a guest, ports.ts), both directions, also to and from other networks.
      `oifname ${b} ct status dnat accept`,
      `iifname ${b} ct status dnat accept`,
  ];
  const chains: Record<keyof typeof CHAINS, string[] | null> = {
    forward,
    postrouting: null,
    // A guest never addresses the host's loopback, nor sends from it: route_localnet on the bridge
    // (for 127.0.0.1 published ports) would otherwise let it reach services bound to 127.0.0.1.
    // Counted, so `nft list` shows a guest that tried.
    guard: [`iifname ${b} ip daddr 127.0.0.0/8 counter drop`, `iifname ${b} ip saddr 127.0.0.0/8 counter drop`],
  };
  if (spec.mode === "shared") {
    const v4 = parseNetwork(spec.subnet).text;
    chains.postrouting = [`ip saddr ${v4} ip daddr != ${v4} masquerade`];
    if (spec.subnetV6) {
      const v6 = parseNetwork(spec.subnetV6).text;
      chains.postrouting.push(`ip6 saddr ${v6} ip6 daddr != ${v6} masquerade`);
    }
    forward.push(
      `oifname ${b} ct state established,related accept`,
      `oifname ${b} drop`, // new connections into the network from anywhere else
      `iifname ${b} oifname "${BRIDGE_WILDCARD}" drop`, // networks are isolated from each other
    );
  } else {
    parseNetwork(spec.subnet);
    forward.push(`iifname ${b} drop`, `oifname ${b} drop`); // host only: nothing routed in or out
  }
  const lines = [`add table ${t}`];
  for (const [name, rules] of Object.entries(chains)) {
    lines.push(`add chain ${t} ${name} { ${CHAINS[name as keyof typeof CHAINS]} }`, `flush chain ${t} ${name}`);
    if (rules === null) lines.push(`delete chain ${t} ${name}`); // host mode has no NAT
    else for (const r of rules) lines.push(`add rule ${t} ${name} ${r}`);
  }
  return `${lines.join("\n")}\n`;
}

export function teardownScript(bridge: string): string {
  const t = natTableName(bridge);
  return `add table inet ${t}\ndelete table inet ${t}\n`;
}

/** Writes "1" to a sysctl under /proc/sys when it is not 1 already (per network namespace). */
function enableSysctl(path: string): void {
  if (!existsSync(path)) return; // e.g. IPv6 disabled on this host
  if (readFileSync(path, "utf8").trim() === "1") return;
  try {
    writeFileSync(path, "1\n");
  } catch (cause) {
    throw new HostError(`cannot enable forwarding in ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** Shared mode turns on IP forwarding (v6 too with a prefix); it stays on when a network goes. */
function enableForwarding(specs: NatSpec[]): void {
  if (specs.some((s) => s.mode === "shared")) enableSysctl("/proc/sys/net/ipv4/ip_forward");
  if (specs.some((s) => s.mode === "shared" && s.subnetV6)) enableSysctl("/proc/sys/net/ipv6/conf/all/forwarding");
}

/** Installs (or replaces) the network's table; shared mode also turns on IP forwarding. */
/** `extra`: more nft commands applied in the same transaction (the network's port guard table). */
export function setupNat(spec: NatSpec, extra = ""): void {
  const script = natScript(spec) + extra;
  enableForwarding([spec]);
  applyScript(script, `install rules for ${spec.bridge}`);
}

/** Removes the network's table; a missing table is fine. Forwarding stays on: others may need it. */
export function teardownNat(bridge: string, extra = ""): void {
  applyScript(teardownScript(bridge) + extra, `remove rules for ${bridge}`);
}

/**
 * Runs every item's script in one `nft -f` (one kernel transaction): an nft call costs time in
 * proportion to every table already loaded, so one per network makes `system start` quadratic
 * (200 networks: minutes). If the whole batch fails, each item runs alone, so a failure is
 * reported against its own network and the others still apply. One result per item, in order.
 */
function applyMany<T>(items: T[], script: (x: T) => string, what: (x: T) => string): Array<Error | null> {
  if (items.length === 0) return [];
  const scripts = items.map((x) => { try { return script(x); } catch (e) { return e as Error; } });
  const good = scripts.flatMap((s) => (typeof s === "string" ? [s] : []));
  try {
    if (good.length) applyScript(good.join(""), `apply ${good.length} tables`);
    return scripts.map((s) => (typeof s === "string" ? null : s));
  } catch {
    return scripts.map((s, i) => {
      if (typeof s !== "string") return s;
      try {
        applyScript(s, what(items[i]!));
        return null;
      } catch (e) {
        return e as Error;
      }
    });
  }
}

/** setupNat for many networks in one nft transaction; one result per spec (null = installed). `extra` as for setupNat. */
export function setupNatMany(specs: NatSpec[], extra: (s: NatSpec) => string = () => ""): Array<Error | null> {
  try {
    enableForwarding(specs);
  } catch (e) {
    return specs.map(() => e as Error);
  }
  return applyMany(specs, (s) => natScript(s) + extra(s), (s) => `install rules for ${s.bridge}`);
}

/** teardownNat for many bridges in one nft transaction; one result per bridge (null = removed or absent). */
export function teardownNatMany(bridges: string[], extra: (bridge: string) => string = () => ""): Array<Error | null> {
  return applyMany(bridges, (b) => teardownScript(b) + extra(b), (b) => `remove rules for ${b}`);
}

/** Whether the table exists and whether it masquerades. Never throws when nft is present. */
export function natStatus(bridge: string): { present: boolean; masquerade: boolean } {
  const r = runNft(["list", "table", "inet", natTableName(bridge)]);
  return { present: r.code === 0, masquerade: r.code === 0 && r.stdout.includes("masquerade") };
}
