/**
 * Which hostname a lease gets. Names are unique among a network's active leases (compared without
 * case: DNS is case-insensitive), stored lowercase, and never one of the network's reserved names
 * (resources/reserved-names.ts).
 */
import { ConflictError, UsageError } from "../errors.ts";
import type { Network } from "../resources/network.ts";
import { HOSTNAME_RE, hostnameFor } from "../resources/names.ts";
import { RESERVED_HINT, reservedHostnames } from "../resources/reserved-names.ts";
import type { LeaseTx } from "./lease-tx.ts";

/** Whether `name` is free for `id` on the network (nobody else's active lease has it). */
function freeFor(tx: LeaseTx, net: Network, name: string, id: string): boolean {
  if (reservedHostnames(net).has(name)) return false;
  const holder = tx.activeWithHostname(net.name, name, id);
  return !holder || holder.id === id;
}

/** The id's own name: the id reduced to a label, with a short suffix when another lease has that label ("vm_1", "vm.1"). */
export function derivedHostname(tx: LeaseTx, net: Network, id: string): string {
  const base = hostnameFor(id);
  if (freeFor(tx, net, base, id)) return base;
  const suffix = Bun.hash.wyhash(id).toString(16).slice(-4);
  return `${base.slice(0, 58)}-${suffix}`;
}

/** `vmlan attach --hostname H` (or none): an explicit name must be free; else the id's own. */
export function attachHostname(tx: LeaseTx, net: Network, id: string, wanted: string | undefined): string {
  if (wanted === undefined) return derivedHostname(tx, net, id);
  const name = wanted.toLowerCase();
  if (reservedHostnames(net).has(name)) {
    throw new UsageError(`invalid hostname "${wanted}": the name is reserved on network "${net.name}" (${RESERVED_HINT})`);
  }
  const holder = tx.activeWithHostname(net.name, name, id);
  if (holder && holder.id !== id) throw new ConflictError(`hostname "${name}" is already used by id "${holder.id}" on "${net.name}"`);
  return name;
}

/**
 * The name a DHCP lease gets: the first candidate (the client's option 12, a stored name) that is a
 * valid label and nobody else's; else the id's own. A name another lease holds is never taken
 * over: like dnsmasq ("not giving name X to the DHCP lease of Y"), the client gets its lease
 * without it.
 */
export function dhcpHostname(tx: LeaseTx, net: Network, id: string, candidates: Array<string | null | undefined>): string {
  for (const c of candidates) {
    if (!c || !HOSTNAME_RE.test(c)) continue;
    const name = c.toLowerCase();
    if (freeFor(tx, net, name, id)) return name;
  }
  return derivedHostname(tx, net, id);
}
