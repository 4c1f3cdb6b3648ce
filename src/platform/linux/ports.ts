/**
 * Published ports in the kernel (issue #14): DNAT in nftables, so forwarded bytes never cross
 * userspace. Three base chains per network in vmlan's table (`inet vmlan`, nat-rules.ts), present
 * only while the network publishes a port, replaced together in one `nft -f` transaction (the
 * network's other chains are untouched, nat.ts):
 *   ports_pre_<bridge>   nat prerouting  (dstnat): connections from the LAN and from guests (hairpin)
 *   ports_out_<bridge>   nat output      (-100):   the host's own connections, 127.0.0.1 included
 *   ports_post_<bridge>  nat postrouting (srcnat): masquerade where the guest could not answer otherwise:
 *               a 127.0.0.1 source, another guest of the network (hairpin), every source on a
 *               host-only network (its guests have no route beyond the gateway)
 * 127.0.0.1 is published in the kernel with route_localnet on the bridge (the kernel otherwise
 * refuses to route a loopback source out of a non-loopback device); the guard chain of nat.ts drops
 * anything a guest addresses to or from 127.0.0.0/8, so route_localnet exposes nothing of the host's
 * loopback. IPv6 has no route_localnet: [::1] has no kernel rule and the services daemon proxies it
 * (docs/ports.md). Every value is validated before it is interpolated.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import ipaddr from "ipaddr.js";
import { HostError, UsageError } from "../../core/errors.ts";
import type { PortRule } from "../../core/ports/state.ts";
import { familyOf, guestEnd, isLoopback, isUnspecified } from "../../core/ports/spec.ts";
import type { HostNetworkSpec } from "../types.ts";
import { checkIfname, parseNetwork } from "./ip.ts";
import { applyScript } from "./nft.ts";
import { PORT_CHAINS, portChain, type PortChain, TABLE } from "./nat-rules.ts";
import { inetTables, LEGACY_PORT_CHAINS, retireLegacyScript } from "./nat-legacy.ts";

function address(ip: string, family: 4 | 6): string {
  const ok = family === 4 ? ipaddr.IPv4.isValidFourPartDecimal(ip) : ipaddr.IPv6.isValid(ip) && !ip.includes("%");
  if (!ok) throw new UsageError(`invalid IPv${family} address "${ip}" in a port rule`);
  return ipaddr.parse(ip).toString();
}

function port(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`invalid port ${n} in a port rule`);
  return n;
}

function range(a: number, b: number): string {
  if (port(b) < port(a)) throw new UsageError(`invalid port range ${a}-${b} in a port rule`);
  return a === b ? String(a) : `${a}-${b}`;
}

/** `dnat ip to ...`: one address and port, the address alone when the ports are the same, else a map per port. */
function target(r: PortRule): string {
  const f = familyOf(r.hostIp);
  const fam = f === 4 ? "ip" : "ip6";
  if (familyOf(r.guestAddress) !== f) throw new UsageError(`port rule ${r.hostIp}:${r.hostPort} leads to ${r.guestAddress}, another address family`);
  const guest = address(r.guestAddress, f);
  const end = guestEnd(r);
  port(end);
  if (r.hostPort === r.guestPort && r.hostEnd === end) return `dnat ${fam} to ${f === 6 ? `[${guest}]` : guest}`;
  if (r.hostPort === r.hostEnd) return `dnat ${fam} to ${f === 6 ? `[${guest}]` : guest}:${port(r.guestPort)}`;
  const pairs: string[] = [];
  for (let p = r.hostPort; p <= r.hostEnd; p++) pairs.push(`${p} : ${guest} . ${r.guestPort + (p - r.hostPort)}`);
  return `dnat ${fam} to ${r.proto} dport map { ${pairs.join(", ")} }`;
}

/** The match on the host address: a wildcard is "any address of this host" (fib daddr type local). */
function destination(r: PortRule, chain: "pre" | "out"): string | null {
  const f = familyOf(r.hostIp);
  const nfproto = `meta nfproto ipv${f}`;
  if (isUnspecified(r.hostIp)) {
    // [::1] cannot be DNATed to another device; the daemon's listener on [::] proxies it instead.
    return f === 6 && chain === "out" ? `${nfproto} ip6 daddr != ::1 fib daddr type local` : `${nfproto} fib daddr type local`;
  }
  if (isLoopback(r.hostIp)) {
    if (f === 6) return null; // userspace proxy (services daemon)
    return chain === "out" ? `ip daddr ${address(r.hostIp, 4)}` : null; // loopback never arrives from outside
  }
  return `${f === 4 ? "ip" : "ip6"} daddr ${address(r.hostIp, f)}`;
}

/** Whether any rule needs route_localnet (a 127.x address, or 0.0.0.0, which includes them). */
export const needsLocalnet = (rules: PortRule[]): boolean =>
  rules.some((r) => familyOf(r.hostIp) === 4 && (isLoopback(r.hostIp) || isUnspecified(r.hostIp)));

export function portsScript(spec: Pick<HostNetworkSpec, "bridge" | "mode" | "subnet" | "subnetV6">, rules: PortRule[]): string {
  const c = (name: PortChain) => `${TABLE} ${portChain(name, spec.bridge)}`;
  const lines = [`add table ${TABLE}`];
  for (const [name, def] of Object.entries(PORT_CHAINS)) lines.push(`add chain ${c(name as PortChain)} { ${def} }`, `flush chain ${c(name as PortChain)}`);
  if (rules.length === 0) {
    for (const name of Object.keys(PORT_CHAINS)) lines.push(`delete chain ${c(name as PortChain)}`);
    return `${lines.join("\n")}\n`;
  }
  for (const r of rules) {
    if (r.proto !== "tcp" && r.proto !== "udp") throw new UsageError(`invalid protocol "${String(r.proto)}" in a port rule`);
    const dport = `${r.proto} dport ${range(r.hostPort, r.hostEnd)}`;
    for (const [chain, name] of [["pre", "ports_pre"], ["out", "ports_out"]] as const) {
      const dst = destination(r, chain);
      if (dst) lines.push(`add rule ${c(name)} ${dst} ${dport} ${target(r)}`);
    }
  }
  const b = `"${checkIfname(spec.bridge)}"`;
  if (spec.mode === "host") {
    lines.push(`add rule ${c("ports_post")} oifname ${b} ct status dnat masquerade`);
  } else {
    lines.push(`add rule ${c("ports_post")} oifname ${b} ct status dnat ip saddr 127.0.0.0/8 masquerade`);
    lines.push(`add rule ${c("ports_post")} oifname ${b} ct status dnat ip saddr ${parseNetwork(spec.subnet).text} masquerade`);
    if (spec.subnetV6) lines.push(`add rule ${c("ports_post")} oifname ${b} ct status dnat ip6 saddr ${parseNetwork(spec.subnetV6).text} masquerade`);
  }
  return `${lines.join("\n")}\n`;
}

const localnetPath = (bridge: string) => `/proc/sys/net/ipv4/conf/${checkIfname(bridge)}/route_localnet`;

function setLocalnet(bridge: string, on: boolean): void {
  const path = localnetPath(bridge);
  if (!existsSync(path)) return; // the bridge is gone: nothing to set
  const want = on ? "1" : "0";
  if (readFileSync(path, "utf8").trim() === want) return;
  try {
    writeFileSync(path, `${want}\n`);
  } catch (cause) {
    throw new HostError(`cannot set ${path} to ${want}: ${(cause as Error).message}`, { cause });
  }
}

export function routeLocalnet(bridge: string): boolean {
  const path = localnetPath(bridge);
  return existsSync(path) && readFileSync(path, "utf8").trim() === "1";
}

/** Replaces the network's port chains with `rules`; route_localnet is on exactly while a rule needs it. */
export function syncPortRules(spec: HostNetworkSpec, rules: PortRule[]): void {
  const localnet = needsLocalnet(rules);
  if (localnet) setLocalnet(spec.bridge, true); // before the rules: the guard chain is in place already
  // An upgraded host's old per-network table gives up its port chains in the same transaction.
  const script = portsScript(spec, rules) + retireLegacyScript(spec.bridge, inetTables(), LEGACY_PORT_CHAINS);
  applyScript(script, `publish ports on ${spec.bridge}`);
  if (!localnet) setLocalnet(spec.bridge, false);
}
