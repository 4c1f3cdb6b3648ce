/**
 * Which address a new lease or offer gets, and whom a full pool takes one from. Two kinds of
 * claimant: `attach` (vmlan attach, helpers, VMs, apply, and DHCP clients vmlan already knows) and
 * `stranger` (a DHCP client whose MAC vmlan has never seen). Strangers get the pool minus a reserve
 * and only ever reclaim other strangers' old claims, so a flood of unknown MACs cannot keep a known
 * id or `vmlan attach` from an address (ISC dhcpd's `deny unknown-clients` pools and Kea's
 * KNOWN/UNKNOWN client classes draw the same line).
 */
import { ConflictError } from "../errors.ts";
import type { Network } from "../resources/network.ts";
import type { LeaseTx } from "./lease-tx.ts";
import { poolOf, poolText } from "./addressing.ts";

export type Claimant = "attach" | "stranger";

/** The error code of a pool with no address left for an attach (LeaseService then releases orphans and retries). */
export const POOL_FULL = "EPOOLFULL";

/** A sixteenth of the pool (15 of a /24's 253; none below 16 addresses) stays free for known claimants. */
export function strangerReserve(poolSize: number): number {
  return Math.floor(poolSize / 16);
}

const isFree = (tx: LeaseTx, network: string, a: number) => !tx.leaseAt(network, a) && !tx.holdAt(network, a);
/** Addresses tried one by one from the cursor before asking whether the pool has any left. */
const QUICK_PROBES = 16;

/**
 * The next never-used address after the last one handed out (wrapping; one lookup per allocation in
 * the common case, host-local's trick); when there is none, one taken from the least valuable
 * holder: for `attach`, a pending offer, then the oldest released claim, then the oldest declined
 * address; for a `stranger`, only the oldest released claim another stranger left.
 */
export function nextFree(tx: LeaseTx, net: Network, who: Claimant): number {
  // The network's pool (addressing.ts): its first..last, never the gateway; static addresses outside stay free.
  const { first, last, gateway, size: poolSize } = poolOf(net);
  const within = { first, last };
  if (who === "stranger") {
    const used = tx.countActive(net.name) + tx.countHolds(net.name);
    const reserve = strangerReserve(poolSize);
    if (reserve > 0 && poolSize - used <= reserve) {
      throw new ConflictError(`network "${net.name}" keeps its last ${reserve} free addresses for attachments and known clients (${used} of ${poolSize} in use)`);
    }
  }
  const prev = tx.lastAllocated(net.name);
  let a = prev === null || prev < first || prev >= last ? first : prev + 1;
  const span = last - first + 1;
  // A few lookups from the cursor find a free address in the common case. Past those, a pool may be
  // full (sticky claims fill it over time): one count says so, instead of a lookup per address (a
  // /16 full of released claims cost 65,000 of them per attach), and a pool known full asks neither.
  if (!tx.knownFull(net.name, first, last)) {
    for (let i = 0; i < span; i++) {
      if (i === QUICK_PROBES && tx.poolFull(net.name, first, last, gateway)) break;
      if (a !== gateway && isFree(tx, net.name, a)) return a;
      a = a === last ? first : a + 1;
    }
  }
  const taken = (addr: number) => {
    tx.stayFull(net.name, first, last); // the address goes from its holder to the caller
    return addr;
  };
  const full = () => new ConflictError(`network "${net.name}" has no free address: all ${poolSize} addresses of ${poolText(net) ?? net.subnet} are attached`, { code: POOL_FULL });
  if (who === "stranger") {
    const victim = tx.oldestReleased(net.name, "dhcp", within);
    if (!victim) throw full();
    tx.deleteLease(net.name, victim.id);
    return taken(victim.addr);
  }
  const offer = tx.oldestHold(net.name, "offer");
  if (offer) {
    tx.deleteHold(net.name, offer.addr); // its client gets a NAK and asks again: seconds, not a lost claim
    return taken(offer.addr);
  }
  const claim = tx.oldestReleased(net.name, undefined, within);
  if (claim) {
    tx.deleteLease(net.name, claim.id);
    return taken(claim.addr);
  }
  const declined = tx.oldestHold(net.name, "declined");
  if (declined) {
    tx.deleteHold(net.name, declined.addr); // last resort: better a possible conflict than no address at all
    return taken(declined.addr);
  }
  throw full();
}
