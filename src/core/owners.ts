/**
 * Attachment owners and orphans (issue #12 item 10). An attach can claim its attachment for a
 * process (pid + start time): a second claimant is refused while that process lives, and takes over
 * once it is gone. An attachment whose owner died (SIGKILL, a crash, a reboot) is an orphan: it is
 * released (the sticky claim stays) by `system start`, by the services daemon's reconcile, and by an
 * attach that finds the pool full. Liveness is the composition root's to answer (src/process), so
 * the core stays free of /proc and ps.
 */
import { ConflictError } from "./errors.ts";
import { release } from "./ipam/allocator.ts";
import type { Owner } from "./resources/attachment.ts";
import type { OwnedAttachment } from "./store/owner-queries.ts";
import type { Store } from "./store/store.ts";

export interface OwnerPolicy {
  /** Whether the process an owner names still runs (same pid, same start time). */
  alive(o: Owner): boolean;
  /** Called for each orphan once its attachment is released: e.g. remove its stale socket files. */
  onOrphan?(o: OwnedAttachment): void;
}

/** Without a policy every owner counts as alive: nothing is ever reaped, no live claim is taken. */
export const OWNERS_ALWAYS_ALIVE: OwnerPolicy = { alive: () => true };

export const sameOwner = (a: Owner, b: Owner) => a.pid === b.pid && a.start === b.start;

/** Inside the attach's transaction: refuses a claim on an attachment another live process holds. */
export function checkClaim(store: Store, policy: OwnerPolicy, network: string, id: string, claim: Owner): void {
  const cur = store.owners.get(network, id);
  if (cur && !sameOwner(cur, claim) && policy.alive(cur)) {
    throw new ConflictError(`id "${id}" on network "${network}" is in use by pid ${cur.pid}; stop that process or choose another --id`, {
      code: "EINUSE", details: { network, id, pid: cur.pid },
    });
  }
}

/**
 * Releases every attachment (of `network`, or all) whose owner is gone; returns them. Liveness is
 * checked outside any transaction; each release re-checks, in its own, that the owner is unchanged.
 */
export function releaseOrphans(store: Store, policy: OwnerPolicy, now: () => string, network?: string): OwnedAttachment[] {
  const out: OwnedAttachment[] = [];
  for (const o of store.owners.list(network)) {
    if (policy.alive(o)) continue;
    const released = store.tx(() => {
      const cur = store.owners.get(o.network, o.id);
      const net = store.getNetwork(o.network);
      const lease = store.getLease(o.network, o.id);
      if (!cur || !sameOwner(cur, o) || !net || lease?.state !== "active") return false;
      release(store, net, o.id, now()); // the trigger of migration 5 drops the owner row
      return true;
    });
    if (!released) continue;
    out.push(o);
    try {
      policy.onOrphan?.(o);
    } catch {} // cleanup of files is best effort; the address is free either way
  }
  return out;
}
