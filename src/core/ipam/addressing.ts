/**
 * A network's addressing beyond its subnet: the gateway (subnet + 1 unless given) and the pool of
 * addresses IPAM hands out. vmnet's address options need both: the start address is the gateway and
 * the pool runs from start + 1 to the end address (vmnet-helper docs/integration.md); the rest of
 * the subnet stays free for static addresses.
 */
import { UsageError } from "../errors.ts";
import { containsV4, intToV4, isV4, parseSubnetV4, v4ToInt, type SubnetV4 } from "./subnet.ts";

/** The addresses handed out, as integers: first..last inclusive, never the gateway. */
export interface Pool {
  first: number;
  last: number;
  gateway: number;
  /** How many addresses the pool can hand out. */
  size: number;
}

export interface Addressing {
  subnet: string;
  gateway: string;
  poolStart: string | null;
  poolEnd: string | null;
}

/** Pools by network object: a stored network is one frozen object per row (store/rows.ts), and every attach asks. */
const pools = new WeakMap<Addressing, Readonly<Pool>>();

export function poolOf(net: Addressing): Readonly<Pool> {
  let p = pools.get(net);
  if (!p) {
    p = Object.freeze(poolOfUncached(net));
    if (Object.isFrozen(net)) pools.set(net, p); // an object that may still change is not remembered
  }
  return p;
}

function poolOfUncached(net: Addressing): Pool {
  const s = parseSubnetV4(net.subnet);
  const gateway = v4ToInt(net.gateway);
  const first = net.poolStart !== null ? v4ToInt(net.poolStart) : gateway === s.base + 1 ? s.base + 2 : s.base + 1;
  const last = net.poolEnd !== null ? v4ToInt(net.poolEnd) : s.base + s.size - 2;
  const size = last - first + 1 - (gateway >= first && gateway <= last ? 1 : 0);
  return { first, last, gateway, size };
}

/** "10.0.0.2-10.0.0.9", or null for the default pool. */
export function poolText(net: Pick<Addressing, "poolStart" | "poolEnd">): string | null {
  return net.poolStart !== null && net.poolEnd !== null ? `${net.poolStart}-${net.poolEnd}` : null;
}

function hostAddress(s: SubnetV4, what: string, value: string): number {
  if (!isV4(value)) throw new UsageError(`invalid ${what} "${value}": expected an IPv4 address like ${intToV4(s.base + 1)}`);
  const n = v4ToInt(value);
  if (!containsV4(s, n)) throw new UsageError(`${what} ${value} is outside the subnet ${s.cidr}`);
  if (n === s.base) throw new UsageError(`${what} ${value} is the network address of ${s.cidr}`);
  if (n === s.base + s.size - 1) throw new UsageError(`${what} ${value} is the broadcast address of ${s.cidr}`);
  return n;
}

/**
 * Validates a requested gateway and pool against the subnet and returns their canonical form.
 * Both pool ends or neither; the pool is not empty and does not contain the gateway.
 */
export function checkAddressing(subnet: string, o: { gateway?: string; poolStart?: string; poolEnd?: string }): Omit<Addressing, "subnet"> {
  const s = parseSubnetV4(subnet);
  const gateway = o.gateway === undefined ? s.base + 1 : hostAddress(s, "gateway", o.gateway);
  if ((o.poolStart === undefined) !== (o.poolEnd === undefined)) throw new UsageError("a pool needs both its first and its last address");
  if (o.poolStart === undefined || o.poolEnd === undefined) return { gateway: intToV4(gateway), poolStart: null, poolEnd: null };
  const first = hostAddress(s, "pool start", o.poolStart);
  const last = hostAddress(s, "pool end", o.poolEnd);
  if (first > last) throw new UsageError(`pool ${o.poolStart}-${o.poolEnd} is empty: its start is after its end`);
  if (gateway >= first && gateway <= last) throw new UsageError(`pool ${o.poolStart}-${o.poolEnd} contains the gateway ${intToV4(gateway)}`);
  return { gateway: intToV4(gateway), poolStart: intToV4(first), poolEnd: intToV4(last) };
}
