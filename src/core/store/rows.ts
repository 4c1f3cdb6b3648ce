import * as v from "valibot";
import { StoreError } from "../errors.ts";
import { Network } from "../resources/network.ts";
import { InterfaceId, NetworkName, Hostname } from "../resources/names.ts";
import { MAC_RE } from "../resources/attachment.ts";
import type { Hold, LeaseRow } from "../ipam/lease-tx.ts";

export interface NetworkRow {
  name: string; mode: string; subnet: string; gateway: string; subnet_v6: string | null; gateway_v6: string | null;
  mtu: number; bridge: string; labels: string; builtin: number; created_at: string; dhcp: number; dns_domain: string | null;
  uplink: string | null;
  pool_start: string | null; pool_end: string | null;
}

export interface AttachmentRow {
  network: string; id: string; mac: string; addr: number; address_v6: string | null; hostname: string;
  state: string; created_at: string; updated_at: string; expires_at: number | null; origin: string;
}

export interface HoldRow { network: string; addr: number; mac: string; reason: string; until: number; created_at: number }

/** The columns a Network is made of (not last_allocated, backend or uplink_moved, which change under it). */
const NETWORK_COLUMNS = ["name", "mode", "subnet", "gateway", "subnet_v6", "gateway_v6", "mtu", "bridge", "labels", "builtin", "created_at", "dhcp", "dns_domain", "uplink", "pool_start", "pool_end"] as const;
const validated = new Map<string, { row: NetworkRow; network: Network }>();

/**
 * Every row read from SQLite is validated; a bad row is a StoreError naming it, never a crash later.
 * A row whose columns are exactly those of one validated before gets that (frozen) Network back: an
 * attach reads its network once per transaction, and 10,000 of them need not validate it 10,000 times.
 */
export function networkFromRow(r: NetworkRow): Network {
  const hit = validated.get(r.name);
  if (hit && NETWORK_COLUMNS.every((c) => hit.row[c] === r[c])) return hit.network;
  const network = Object.freeze(validateNetworkRow(r));
  Object.freeze(network.labels);
  if (validated.size >= 4096) validated.clear();
  validated.set(r.name, { row: { ...r }, network });
  return network;
}

function validateNetworkRow(r: NetworkRow): Network {
  let labels: unknown;
  try {
    labels = JSON.parse(r.labels);
  } catch {
    throw new StoreError(`stored network "${r.name}" has unreadable labels`);
  }
  const out = v.safeParse(Network, {
    name: r.name, mode: r.mode, subnet: r.subnet, gateway: r.gateway, subnetV6: r.subnet_v6, gatewayV6: r.gateway_v6,
    mtu: r.mtu, bridge: r.bridge, labels, builtin: r.builtin === 1, createdAt: r.created_at, dhcp: r.dhcp !== 0, dnsDomain: r.dns_domain,
    uplink: r.uplink ?? null,
    poolStart: r.pool_start, poolEnd: r.pool_end,
  });
  if (!out.success) throw new StoreError(`stored network "${r.name}" is invalid: ${out.issues[0].message}`);
  return out.output;
}

export function networkToRow(n: Network): Record<string, string | number | null> {
  return {
    name: n.name, mode: n.mode, subnet: n.subnet, gateway: n.gateway, subnet_v6: n.subnetV6, gateway_v6: n.gatewayV6,
    mtu: n.mtu, bridge: n.bridge, labels: JSON.stringify(n.labels), builtin: n.builtin ? 1 : 0, created_at: n.createdAt,
    dhcp: n.dhcp ? 1 : 0, dns_domain: n.dnsDomain, uplink: n.uplink, pool_start: n.poolStart, pool_end: n.poolEnd,
  };
}

const LeaseSchema = v.object({
  network: NetworkName,
  id: InterfaceId,
  mac: v.pipe(v.string(), v.regex(MAC_RE)),
  // Negative: an address-less lease's slot (bridged networks; see allocator NO_ADDRESS).
  addr: v.pipe(v.number(), v.integer(), v.minValue(-0xffffffff), v.maxValue(0xffffffff)),
  addressV6: v.nullable(v.string()),
  hostname: Hostname,
  state: v.picklist(["active", "released"]),
  createdAt: v.string(),
  updatedAt: v.string(),
  expiresAt: v.nullable(v.pipe(v.number(), v.integer())),
  origin: v.picklist(["attach", "dhcp"]),
});

export function leaseFromRow(r: AttachmentRow): LeaseRow {
  const out = v.safeParse(LeaseSchema, {
    network: r.network, id: r.id, mac: r.mac, addr: r.addr, addressV6: r.address_v6, hostname: r.hostname,
    state: r.state, createdAt: r.created_at, updatedAt: r.updated_at, expiresAt: r.expires_at, origin: r.origin,
  });
  if (!out.success) throw new StoreError(`stored attachment "${r.id}" on "${r.network}" is invalid: ${out.issues[0].message}`);
  return out.output;
}

const HoldSchema = v.object({
  network: NetworkName,
  addr: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff)),
  mac: v.pipe(v.string(), v.regex(MAC_RE)),
  reason: v.picklist(["offer", "declined"]),
  until: v.pipe(v.number(), v.integer()),
  createdAt: v.pipe(v.number(), v.integer()),
});

export function holdFromRow(r: HoldRow): Hold {
  const out = v.safeParse(HoldSchema, { network: r.network, addr: r.addr, mac: r.mac, reason: r.reason, until: r.until, createdAt: r.created_at });
  if (!out.success) throw new StoreError(`stored address hold ${r.addr} on "${r.network}" is invalid: ${out.issues[0].message}`);
  return out.output;
}
