/**
 * The Linux platform: a network is a kernel bridge with the gateway addresses (netlink, via
 * bun:ffi) plus its chains for NAT or isolation in vmlan's one nftables table (nat.ts, nat-rules.ts).
 * Flow: ensureNetwork = ensureBridge → setupNat; removeNetwork = removeBridge → teardownNat.
 * ensureNetworks / removeNetworks (system start / stop): the same for many, all rules in one nft call.
 */
import { AF_INET6, IFF_UP } from "../../../ffi/libc/constants.ts";
import { UsageError } from "../../core/errors.ts";
import type { HostNetworkSpec, HostNetworkStatus, Platform, StatusOptions, TapOpener } from "../types.ts";
import { detachPort } from "./tap.ts";
import { openGuardedTap, sweepAllGuards } from "./port-guard.ts";
import { guardSetupScript, guardSetupScripts, guardTeardownScripts, removeGuardTableIfEmpty } from "./port-guard-table.ts";
import { ensureBridge, ownership, removeBridge } from "./bridge.ts";
import { type Cidr, formatAddress, parseAddress, parseNetwork } from "./ip.ts";
import { getLink, listAddrs, listLinks } from "./links.ts";
import { type NatSpec, natStatus, setupNat, setupNatMany, teardownNat, teardownNatMany } from "./nat.ts";
import { withNetlink } from "./netlink.ts";
import { checkPrivileges } from "./privileges.ts";
import { checkSubnetFree } from "./routes.ts";
import { bridgedStatus, ensureBridged, removeBridged } from "./bridged.ts";
import { describeUplink, listCandidates } from "./uplink.ts";
import { syncPortRules } from "./ports.ts";
import { probeHostPort } from "./port-probe.ts";
import { withFileLock } from "./lock.ts";
import { listHostNetworks, removeHostNetwork } from "./leftovers.ts";
import { libc } from "../../../ffi/libc/load.ts";

/** Gateway address with the subnet's prefix length, e.g. 192.168.64.1/24. */
function gatewayCidr(gateway: string, subnet: string): Cidr {
  const net = parseNetwork(subnet);
  const gw = parseAddress(gateway);
  const inside = gw.family === net.family && gw.bytes.every((b, i) => {
    const bits = Math.max(0, Math.min(8, net.prefix - i * 8));
    const mask = (0xff << (8 - bits)) & 0xff;
    return (b & mask) === (net.bytes[i]! & mask);
  });
  if (!inside) throw new UsageError(`gateway ${gateway} is not in subnet ${subnet}`);
  return { family: gw.family, bytes: gw.bytes, prefix: net.prefix, text: `${gateway}/${net.prefix}` };
}

function bridgeAddresses(spec: HostNetworkSpec): Cidr[] {
  const out = [gatewayCidr(spec.gateway, spec.subnet)];
  if (spec.subnetV6 && spec.gatewayV6) out.push(gatewayCidr(spec.gatewayV6, spec.subnetV6));
  return out;
}

function natSpec(spec: HostNetworkSpec): NatSpec {
  if (spec.mode === "bridged") throw new UsageError(`bridged network "${spec.name}" has no NAT or isolation table`);
  return { bridge: spec.bridge, mode: spec.mode, subnet: spec.subnet, subnetV6: spec.subnetV6 };
}

const isBridged = (spec: HostNetworkSpec): spec is HostNetworkSpec & { mode: "bridged" } => spec.mode === "bridged";

async function ensureNetwork(spec: HostNetworkSpec): Promise<void> {
  // Bridged: no table at all (guests are hosts of the LAN); the bridge is "vlb-*", outside the
  // other networks' "vl-*" isolation rules, so shared networks still reach the LAN through it.
  if (isBridged(spec)) return withNetlink((nl) => ensureBridged(nl, spec));
  const addresses = bridgeAddresses(spec);
  withNetlink((nl) => ensureBridge(nl, { name: spec.bridge, network: spec.name, mtu: spec.mtu, addresses }));
  // One nft transaction: NAT/isolation, and the network's part of the anti-spoofing table (its ports' rules kept as they are).
  setupNat(natSpec(spec), guardSetupScript(spec.bridge));
}

async function removeNetwork(spec: HostNetworkSpec): Promise<void> {
  if (isBridged(spec)) return withNetlink((nl) => removeBridged(nl, spec));
  // Bridge first: a foreign interface with our name is refused before any rule is touched.
  withNetlink((nl) => removeBridge(nl, spec.bridge, spec.name));
  teardownNat(spec.bridge, guardTeardownScripts()(spec.bridge));
}

/** Every bridge over one netlink socket, then every table in one nft transaction (nat.ts setupNatMany). */
async function ensureNetworks(specs: HostNetworkSpec[]): Promise<Array<Error | null>> {
  const out: Array<Error | null> = specs.map(() => null);
  const tables: Array<{ at: number; nat: NatSpec }> = [];
  withNetlink((nl) => specs.forEach((spec, at) => {
    try {
      if (isBridged(spec)) return ensureBridged(nl, spec);
      ensureBridge(nl, { name: spec.bridge, network: spec.name, mtu: spec.mtu, addresses: bridgeAddresses(spec) });
      tables.push({ at, nat: natSpec(spec) });
    } catch (e) {
      out[at] = e as Error;
    }
  }));
  const guards = guardSetupScripts();
  setupNatMany(tables.map((t) => t.nat), (n) => guards(n.bridge)).forEach((e, i) => { out[tables[i]!.at] = e; });
  return out;
}

/** Bridges first, as removeNetwork does (a foreign interface is refused before its rules are touched), then the tables in one transaction. */
async function removeNetworks(specs: HostNetworkSpec[]): Promise<Array<Error | null>> {
  const out: Array<Error | null> = specs.map(() => null);
  const tables: Array<{ at: number; bridge: string }> = [];
  withNetlink((nl) => specs.forEach((spec, at) => {
    try {
      if (isBridged(spec)) return removeBridged(nl, spec);
      removeBridge(nl, spec.bridge, spec.name);
      tables.push({ at, bridge: spec.bridge });
    } catch (e) {
      out[at] = e as Error;
    }
  }));
  teardownNatMany(tables.map((t) => t.bridge), guardTeardownScripts()).forEach((e, i) => { out[tables[i]!.at] = e; });
  try {
    removeGuardTableIfEmpty(); // system stop leaves no table
  } catch {} // hygiene: the empty table only costs a map lookup per bridged frame
  return out;
}

async function status(spec: HostNetworkSpec, opts: StatusOptions = {}): Promise<HostNetworkStatus> {
  if (isBridged(spec)) return withNetlink((nl) => bridgedStatus(nl, spec));
  const base = { name: spec.name, bridge: spec.bridge };
  const brief = opts.rules === false; // only whether it is up (StatusOptions)
  const link = withNetlink((nl) => {
    const l = getLink(nl, spec.bridge);
    if (!l || brief) return l ? { link: l, addrs: [], ports: undefined } : null;
    return { link: l, addrs: listAddrs(nl, l.index), ports: listLinks(nl).filter((p) => p.master === l.index).length };
  });
  if (!link) return { ...base, up: false, addresses: [], nat: false, detail: `bridge ${spec.bridge} does not exist` };
  const own = ownership(link.link, spec.name);
  if (own === "foreign") {
    return { ...base, up: false, addresses: [], nat: false, detail: `interface ${spec.bridge} is not vmlan's (alias ${link.link.alias ?? "none"})` };
  }
  if (own === "half-made") {
    return { ...base, up: false, addresses: [], nat: false, detail: `bridge ${spec.bridge} was left half-made by an interrupted create; \`vmlan system start\` repairs it` };
  }
  const addresses = link.addrs
    .filter((a) => !(a.family === AF_INET6 && a.address[0] === 0xfe && (a.address[1]! & 0xc0) === 0x80))
    .map((a) => `${formatAddress(a.address)}/${a.prefixlen}`);
  let nat = false;
  let detail: string | undefined;
  if (opts.rules !== false) {
    try {
      const n = natStatus(spec.bridge, spec.mode === "shared");
      nat = spec.mode === "shared" ? n.masquerade : false;
      if (!n.present) detail = "nftables rules missing";
    } catch (e) {
      detail = (e as Error).message;
    }
  }
  return { ...base, up: (link.link.flags & IFF_UP) !== 0, addresses, nat, ports: link.ports, ...(detail ? { detail } : {}) };
}

export function createLinuxPlatform(): Platform & TapOpener {
  return {
    openTap: (spec, identity, o) => {
      const tap = openGuardedTap(spec.bridge, identity, { isolated: o?.isolated, offload: o?.offload, guardLater: o?.guardLater });
      // Released by the broker when its client lets go: the TAP leaves the bridge even if the client keeps its fd.
      return { ...tap, release: async () => withNetlink((nl) => detachPort(nl, tap.index, tap.ifname)) };
    },
    sweepPorts: sweepAllGuards,
    listHostNetworks,
    removeHostNetwork,
    os: "linux",
    checkPrivileges,
    checkSubnetFree: async (cidr, bridge) => withNetlink((nl) => checkSubnetFree(nl, cidr, bridge)),
    ensureNetwork,
    removeNetwork,
    ensureNetworks,
    removeNetworks,
    status,
    probeUplink: async (name, bridge) => withNetlink((nl) => describeUplink(nl, name, bridge)),
    listUplinks: async () => withNetlink((nl) => listCandidates(nl)),
    ports: {
      syncPorts: async (spec, rules) => syncPortRules(spec, rules),
      instance: (spec) => {
        const index = libc().if_nametoindex(Buffer.from(`${spec.bridge}\0`));
        return index === 0 ? null : `${spec.bridge}#${index}`;
      },
      probeHostPort,
      withLock: withFileLock,
    },
  };
}
