/** What a bridged network takes from its uplink and the uplinks the platform can offer (types.ts re-exports them). */
/** An address that moved from the uplink to the bridge, as `ip addr` would show it. */
export interface MovedAddress {
  address: string;
  prefix: number;
  /** IFA_F_* flags it had (NODAD, NOPREFIXROUTE, ...), so it comes back as it was. */
  flags: number;
}

/** A route that moved with the uplink's addresses (a default route, static routes via the LAN). */
export interface MovedRoute {
  dst: string;
  prefix: number;
  gateway: string | null;
  /** The metric; null when the route had none. */
  priority: number | null;
  prefsrc: string | null;
  protocol: number;
  scope: number;
  type: number;
  table: number;
  /** rtm_flags (RTNH_F_ONLINK, ...) */
  flags: number;
}

/** What a bridged network took from its uplink and gives back when it goes down. */
export interface UplinkMoved {
  uplink: string;
  addresses: MovedAddress[];
  routes: MovedRoute[];
}

/**
 * The store's record of a bridged network's move, read and written by the platform: written before
 * anything moves (so a crash can always be repaired), cleared once everything is back.
 */
export interface UplinkJournal {
  read(): UplinkMoved | null;
  write(moved: UplinkMoved | null): void;
}

/** What the platform knows about a would-be uplink, once it passed every check. */
export interface UplinkInfo {
  name: string;
  mtu: number;
  /** The interface's IPv4 addresses in CIDR form ("192.168.1.20/24"), first the primary one. */
  ipv4: string[];
  /** The gateway of its IPv4 default route, if it has one. */
  defaultGateway: string | null;
}

/** An interface that could be a bridged network's uplink (vmnet-helper --list-shared-interfaces). */
export interface UplinkCandidate {
  name: string;
  /** "up" or "down" (link state as the kernel or vmnet reports it; "unknown" where it cannot tell) */
  state: string;
  mtu: number | null;
  ipv4: string[];
}
