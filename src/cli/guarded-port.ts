/**
 * Composition of a guarded port (issue #12 item 2) for the commands that make ports in their own
 * process (helper, run --native, the switch): the platform's TapOpener with the port's identity (its
 * attachment's lease, or nothing yet), the follower that moves the lease to the MAC the port learns,
 * and one close() that undoes both: the TAP's fd, then the rules (which go only once the TAP is gone).
 */
import { type FollowOptions, followPort, portIdentity, staticSpace } from "../core/port-follow.ts";
import type { LeaseService } from "../core/leases.ts";
import type { HostNetworkSpec, PortGuard, PortIdentity, PortOptions, TapOpener, TapPort } from "../platform/types.ts";

/** The lease a port is for: an attachment of the caller's (helper, run), or none (a switch client, learned). */
export interface PortLease {
  id: string;
  mac: string;
  /** null on a bridged network (the LAN assigns it): only the MAC is checked there. */
  address: string | null;
  addressV6?: string | null;
  allowSpoofing?: boolean;
}

/** `staticSpace`: the network's addresses outside its pool (core/port-follow.ts staticSpace). */
export function identityFor(lease: PortLease | null, staticSpace: string[] = []): PortIdentity {
  if (!lease) return { mac: null, lease: null };
  return portIdentity({ mac: lease.mac, address: lease.address, addressV6: lease.addressV6 ?? null }, { allowSpoofing: lease.allowSpoofing, staticSpace });
}

const log = (line: string) => process.stderr.write(`vmlan: ${line}\n`);

/**
 * Opens the port and starts following; close() stops, closes the fd, and removes the rules once the
 * TAP is gone. With `options.guardLater` the rules and the follower come with the port's guardNow().
 */
export function openGuardedPort(opener: TapOpener, spec: HostNetworkSpec, lease: PortLease | null, leases: () => LeaseService, options?: PortOptions): TapPort {
  const svc = leases();
  const net = svc.store.getNetwork(spec.name);
  const tap = opener.openTap(spec, identityFor(lease, net ? staticSpace(net) : []), options);
  const follow = (guard: PortGuard) => following(tap, guard, { network: spec.name, leases: svc, log, ...(lease ? { id: lease.id } : {}) });
  const later = tap.guardNow;
  if (!later) return tap.guard ? follow(tap.guard) : tap;
  let guarded: TapPort | null = null;
  return {
    fd: tap.fd, ifname: tap.ifname,
    guardNow: () => {
      const guard = later();
      if (guard) guarded = follow(guard);
      return guard;
    },
    close: () => (guarded ?? tap).close(),
  };
}

function following(tap: TapPort, guard: PortGuard, o: FollowOptions): TapPort {
  const follow = followPort(guard, o);
  let closed = false;
  return {
    fd: tap.fd, ifname: tap.ifname, guard,
    close: () => {
      if (closed) return;
      closed = true;
      follow.stop();
      tap.close();
      try {
        guard.release();
      } catch (e) {
        log(`port ${tap.ifname}: ${(e as Error).message}`);
      }
    },
  };
}
