/**
 * Reading vmlan's NAT and isolation rules as the kernel holds them (src/platform/linux/nat-rules.ts:
 * one table `inet vmlan`, each network's chains named by its bridge), and the layout before it
 * (one `inet vmlan_<bridge>` table per network), which an upgrade must retire.
 */
import type { Netns } from "./netns.ts";

/** A network's chains in the table: dispatched to by the forward, postrouting and guard maps, and its ports. */
export const NETWORK_CHAINS = ["from", "to", "snat", "guard", "ports_pre", "ports_out", "ports_post"];

/** Every chain of the network as `nft list chain` prints it, joined; "" when it has none. */
export function networkRules(ns: Netns, bridge: string): string {
  return NETWORK_CHAINS.map((c) => ns.run(["nft", "list", "chain", "inet", "vmlan", `${c}_${bridge}`])).filter((r) => r.code === 0).map((r) => r.stdout).join("\n");
}

/** Whether the network is dispatched to (its forward element is in the map). */
export const dispatched = (ns: Netns, bridge: string) => ns.run(["nft", "get", "element", "inet", "vmlan", "fwd_from", `{ "${bridge}" }`]).code === 0;

/** The inet tables' names in the namespace. */
export const inetTables = (ns: Netns) => ns.sh(["nft", "list", "tables", "inet"]).split("\n").map((l) => l.trim().replace(/^table inet /, "")).filter((l) => l);

/** What vmlan before issue #15 §4 installed for a shared network: its own table with three base chains. */
export function legacySharedTable(bridge: string, subnet: string): string {
  const t = `inet vmlan_${bridge}`;
  const b = `"${bridge}"`;
  return [
    `add table ${t}`,
    `add chain ${t} forward { type filter hook forward priority filter; policy accept; }`,
    `add rule ${t} forward iifname ${b} oifname ${b} accept`,
    `add rule ${t} forward oifname ${b} ct status dnat accept`,
    `add rule ${t} forward iifname ${b} ct status dnat accept`,
    `add rule ${t} forward oifname ${b} ct state established,related accept`,
    `add rule ${t} forward oifname ${b} drop`,
    `add rule ${t} forward iifname ${b} oifname "vl-*" drop`,
    `add chain ${t} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `add rule ${t} postrouting ip saddr ${subnet} ip daddr != ${subnet} masquerade`,
    `add chain ${t} guard { type filter hook prerouting priority raw; policy accept; }`,
    `add rule ${t} guard iifname ${b} ip daddr 127.0.0.0/8 counter drop`,
    `add rule ${t} guard iifname ${b} ip saddr 127.0.0.0/8 counter drop`,
    "",
  ].join("\n");
}

/** The old table's published-port chains with one DNAT rule, as an older vmlan left them. */
export function legacyPortChains(bridge: string, dnat: string): string {
  const t = `inet vmlan_${bridge}`;
  return [
    `add table ${t}`,
    `add chain ${t} ports_pre { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${t} ports_out { type nat hook output priority -100; policy accept; }`,
    `add chain ${t} ports_post { type nat hook postrouting priority srcnat; policy accept; }`,
    `add rule ${t} ports_pre ${dnat}`,
    `add rule ${t} ports_out ${dnat}`,
    "",
  ].join("\n");
}
