import * as v from "valibot";
import { UsageError } from "./errors.ts";
import { issueText } from "./issues.ts";
import { Network, NetworkRequest, DEFAULT_MTU, defaultDhcp } from "./resources/network.ts";
import { parseSubnetV4, parseSubnetV6, canonicalV4, gatewayV6, overlapsV4, overlapsV6 } from "./ipam/subnet.ts";
import { bridgeNameFor } from "./resources/names.ts";
import { requestedSubnet } from "./ipam/reserved.ts";
import { checkAddressing, poolText } from "./ipam/addressing.ts";
import type { HostNetworkSpec } from "../platform/types.ts";

/**
 * Validates a create request; the first issue becomes a one-line UsageError naming the value.
 * Subnets in reserved ranges (multicast, loopback, link-local, ...) are refused here, before
 * anything is stored or created (core/ipam/reserved.ts).
 */
export function parseRequest(input: unknown): v.InferOutput<typeof NetworkRequest> {
  const out = v.safeParse(NetworkRequest, input);
  if (!out.success) throw new UsageError(issueText(out.issues[0]));
  if (out.output.subnet !== undefined) requestedSubnet(out.output.subnet, "v4");
  if (out.output.subnetV6 !== undefined) requestedSubnet(out.output.subnetV6, "v6");
  checkModeOptions(out.output);
  return out.output;
}

/** What only fits one mode: an uplink only and always for bridged, no vmlan services there. */
export function checkModeOptions(req: Pick<v.InferOutput<typeof NetworkRequest>, "mode" | "uplink" | "subnetV6" | "dhcp" | "dnsDomain">): void {
  if (req.mode !== "bridged") {
    if (req.uplink !== undefined) throw new UsageError(`uplink "${req.uplink}" is only for bridged networks (this one is ${req.mode}); add --mode bridged`);
    return;
  }
  if (req.uplink === undefined) throw new UsageError(`a bridged network needs an uplink: --uplink IF names the host interface to bridge`);
  if (req.subnetV6 !== undefined) throw new UsageError(`IPv6 prefix ${req.subnetV6} is not used on a bridged network: guests take IPv6 from the LAN's router`);
  if (req.dhcp === true) throw new UsageError(`vmlan's DHCP cannot serve a bridged network: it would answer every host on the LAN of ${req.uplink}; the LAN's DHCP server serves the guests`);
  if (req.dnsDomain !== undefined) throw new UsageError(`DNS domain ${req.dnsDomain} is not used on a bridged network: the LAN's DNS serves the guests`);
}

/** For bridged networks: the gateway (the LAN's router) and MTU the platform saw on the uplink. */
export interface LanLayout {
  gateway: string;
  mtu: number;
}

/** Builds the stored record for a validated request with a chosen subnet and bridge name. */
export function buildNetwork(req: v.InferOutput<typeof NetworkRequest>, subnet: string, bridge: string, now: string, builtin = false, lan?: LanLayout): Network {
  const s4 = parseSubnetV4(subnet);
  const s6 = req.subnetV6 ? parseSubnetV6(req.subnetV6) : null;
  // A bridged network's gateway is the LAN's router (the platform saw it on the uplink).
  const { gateway, poolStart, poolEnd } = checkAddressing(canonicalV4(s4), { ...req, gateway: req.gateway ?? lan?.gateway });
  return {
    name: req.name, mode: req.mode, subnet: canonicalV4(s4), gateway,
    subnetV6: s6?.cidr ?? null, gatewayV6: s6 ? gatewayV6(s6) : null, mtu: req.mtu ?? lan?.mtu ?? DEFAULT_MTU,
    bridge, labels: req.labels, builtin, createdAt: now, dhcp: req.dhcp ?? defaultDhcp(req.mode), dnsDomain: req.dnsDomain ?? null,
    uplink: req.uplink ?? null,
    poolStart, poolEnd,
  };
}

/** Names the stored network that overlaps `candidate` (v4 and v6 checked separately), or null. */
export function findOverlap(candidate: { subnet: string; subnetV6: string | null }, existing: Network[]): string | null {
  const c4 = parseSubnetV4(candidate.subnet);
  const c6 = candidate.subnetV6 ? parseSubnetV6(candidate.subnetV6) : null;
  for (const n of existing) {
    if (overlapsV4(c4, parseSubnetV4(n.subnet))) return `subnet ${candidate.subnet} overlaps network "${n.name}" (${n.subnet})`;
    if (c6 && n.subnetV6 && overlapsV6(c6, parseSubnetV6(n.subnetV6))) return `IPv6 prefix ${candidate.subnetV6} overlaps network "${n.name}" (${n.subnetV6})`;
  }
  return null;
}

/** Candidate /24s for networks created without --subnet: 192.168.65.0/24 .. 192.168.255.0/24 (64 is the default network's). */
export function* autoSubnets(): Generator<string> {
  for (let third = 65; third <= 255; third++) yield `192.168.${third}.0/24`;
}

/** A bridge name not used by another stored network. */
export function uniqueBridge(name: string, taken: (bridge: string) => boolean, bridged = false): string {
  for (let salt = 0; ; salt++) {
    const b = bridgeNameFor(name, salt, bridged);
    if (!taken(b)) return b;
  }
}

/**
 * What differs between an existing network and a create request, as "field: old -> new" parts.
 * Subnets the user did not give are not compared (they were picked automatically); like mtu, an
 * absent dhcp or DNS domain means the default (on, "<name>.vmlan") and is compared as such. A
 * bridged network's MTU defaults to its uplink's, so an absent one is not compared there.
 */
export function configDiff(existing: Network, req: v.InferOutput<typeof NetworkRequest>): string[] {
  const diff: string[] = [];
  if (existing.mode !== req.mode) diff.push(`mode: ${existing.mode} -> ${req.mode}`);
  if ((req.uplink ?? null) !== existing.uplink) diff.push(`uplink: ${existing.uplink ?? "none"} -> ${req.uplink ?? "none"}`);
  if (req.subnet !== undefined && existing.subnet !== canonicalV4(parseSubnetV4(req.subnet))) diff.push(`subnet: ${existing.subnet} -> ${req.subnet}`);
  if (req.subnetV6 !== undefined && existing.subnetV6 !== parseSubnetV6(req.subnetV6).cidr) diff.push(`subnet-v6: ${existing.subnetV6 ?? "none"} -> ${req.subnetV6}`);
  // Like the subnet, a gateway or pool the request does not give is not compared.
  if (req.gateway !== undefined || req.poolStart !== undefined) {
    const want = checkAddressing(req.subnet !== undefined ? canonicalV4(parseSubnetV4(req.subnet)) : existing.subnet, req);
    if (req.gateway !== undefined && want.gateway !== existing.gateway) diff.push(`gateway: ${existing.gateway} -> ${want.gateway}`);
    const [had, asked] = [poolText(existing), poolText(want)];
    if (req.poolStart !== undefined && had !== asked) diff.push(`pool: ${had ?? "whole subnet"} -> ${asked}`);
  }
  const mtu = req.mtu ?? (req.mode === "bridged" ? existing.mtu : DEFAULT_MTU);
  if (mtu !== existing.mtu) diff.push(`mtu: ${existing.mtu} -> ${mtu}`);
  const dhcp = req.dhcp ?? defaultDhcp(req.mode);
  if (dhcp !== existing.dhcp) diff.push(`dhcp: ${existing.dhcp} -> ${dhcp}`);
  if ((req.dnsDomain ?? null) !== existing.dnsDomain) diff.push(`dns-domain: ${existing.dnsDomain ?? "default"} -> ${req.dnsDomain ?? "default"}`);
  const a = JSON.stringify(sortObj(existing.labels));
  const b = JSON.stringify(sortObj(req.labels));
  if (a !== b) diff.push(`labels: ${fmtLabels(existing.labels)} -> ${fmtLabels(req.labels)}`);
  return diff;
}

const sortObj = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([x], [y]) => x.localeCompare(y)));
const fmtLabels = (o: Record<string, string>) => Object.keys(o).length ? Object.entries(sortObj(o)).map(([k, val]) => `${k}=${val}`).join(",") : "{}";

export function hostSpec(n: Network): HostNetworkSpec {
  return { name: n.name, bridge: n.bridge, mode: n.mode, subnet: n.subnet, gateway: n.gateway, subnetV6: n.subnetV6, gatewayV6: n.gatewayV6, mtu: n.mtu, uplink: n.uplink };
}
