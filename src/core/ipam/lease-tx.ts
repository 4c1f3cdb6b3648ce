/**
 * What IPAM reads and writes, as data: leases (the store's attachments) and address holds, and the
 * narrow store interface over them. Every LeaseTx call happens inside one store transaction.
 */

/**
 * A lease as the store keeps it: the IPv4 address as an integer (unique per network), or, on a
 * bridged network, a negative slot (allocator.ts hasAddress).
 */
export interface LeaseRow {
  network: string;
  id: string;
  mac: string;
  addr: number;
  addressV6: string | null;
  hostname: string;
  state: "active" | "released";
  createdAt: string;
  updatedAt: string;
  /** When an active lease made active by DHCP ends unless renewed (ms since the epoch); null = until detach. */
  expiresAt: number | null;
  /** Who made the row: `attach` (the CLI, helpers, VMs, apply) or `dhcp` (a MAC vmlan did not know). */
  origin: "attach" | "dhcp";
}

/**
 * An address held without an attachment: offered to a MAC that has not REQUESTed it yet, or
 * DHCPDECLINEd by a client (another host on the link uses it). Gone at `until` (ms since the epoch).
 */
export interface Hold {
  network: string;
  addr: number;
  mac: string;
  reason: "offer" | "declined";
  until: number;
  createdAt: number;
}

export interface LeaseTx {
  getLease(network: string, id: string): LeaseRow | null;
  leaseAt(network: string, addr: number): LeaseRow | null;
  activeWithMac(network: string, mac: string): LeaseRow | null;
  /** The MAC's active lease, else its most recently released claim. */
  leaseWithMac(network: string, mac: string): LeaseRow | null;
  /** The active lease with this hostname; with `notId`, one that is not notId's (it may skip notId's own row). */
  activeWithHostname(network: string, hostname: string, notId?: string): LeaseRow | null;
  /** The oldest released claim (of rows made by `origin` only, when given; on addresses first..last only, when given). */
  oldestReleased(network: string, origin?: LeaseRow["origin"], within?: { first: number; last: number }): LeaseRow | null;
  lastAllocated(network: string): number | null;
  /** The lowest addr on the network (address-less slots are negative), or null when it has no lease. */
  lowestSlot(network: string): number | null;
  setLastAllocated(network: string, addr: number | null): void;
  /**
   * The pool's walk (nextFree) handed out `addr`: the cursor moves there. The store may write it
   * later (it keeps it exact for its own walks and never lets two connections' answers differ).
   */
  advanceCursor(network: string, addr: number): void;
  /** Writes the lease (insert or update by network + id). */
  putLease(l: LeaseRow): void;
  /**
   * Writes a lease whose id has no row yet (read in this transaction): cheaper than putLease. An
   * active lease whose MAC another active lease has is refused (ConflictError naming it).
   */
  insertLease(l: LeaseRow): void;
  deleteLease(network: string, id: string): void;
  /**
   * Whether every address of first..last but `gateway` has a lease (any state) or a hold. A store may
   * remember a yes until an address may have been freed (knownFull).
   */
  poolFull(network: string, first: number, last: number, gateway: number): boolean;
  /** Whether the pool is known full without asking (poolFull said so, or stayFull, and nothing freed an address since). */
  knownFull(network: string, first: number, last: number): boolean;
  /** A full pool's address was just taken from its holder for a new one: the pool is as full as it was. */
  stayFull(network: string, first: number, last: number): void;
  /** Active leases that have not ended by `nowMs`. */
  countActive(network: string, nowMs?: number): number;
  /** Ends what is due at `nowMs`: expired DHCP leases become released claims, expired holds go. */
  expire(network: string, nowMs: number): void;
  holdAt(network: string, addr: number): Hold | null;
  offerFor(network: string, mac: string): Hold | null;
  oldestHold(network: string, reason: Hold["reason"]): Hold | null;
  countHolds(network: string, reason?: Hold["reason"]): number;
  putHold(h: Hold): void;
  deleteHold(network: string, addr: number): void;
  /** Drops every offer made to `mac` (it got an attachment another way). */
  deleteOffersTo(network: string, mac: string): void;
}
