/**
 * `vmlan system prune`: networks vmlan made on this host that this store does not know (their
 * store was deleted, or they belong to another state dir), removed as `network rm` would remove
 * them. Nothing else sees them: `system start` and `network ls` work from the store. A bridge
 * with a port (a guest's TAP, a container's veth, a bridged uplink) is in use and stays.
 */
import type { HostNetworkObjects, Platform } from "../platform/types.ts";
import type { Store } from "./store/store.ts";

export type PruneOutcome = "removed" | "would remove" | "in use";
export interface PruneRow { bridge: string; network: string | null; ports: string[]; outcome: PruneOutcome }

/** The host's vmlan networks that `store` does not know (every one when there is no store yet). */
export function unknownHostNetworks(store: Store | null, host: Platform): HostNetworkObjects[] {
  if (!host.listHostNetworks) return []; // vmnet's networks end with their processes
  // The host first, then the store: a create stores its network before it makes the bridge, so a
  // bridge seen here whose create is under way is in the store by the time it is read.
  const found = host.listHostNetworks();
  const known = new Set(store?.listNetworks().map((n) => n.bridge) ?? []);
  return found.filter((h) => !known.has(h.bridge));
}

export function pruneHost(store: Store, host: Platform, o: { dryRun: boolean }): PruneRow[] {
  if (!host.removeHostNetwork) return [];
  return unknownHostNetworks(store, host).map((h): PruneRow => {
    const row = { bridge: h.bridge, network: h.network, ports: h.ports };
    if (h.ports.length > 0) return { ...row, outcome: "in use" };
    if (o.dryRun) return { ...row, outcome: "would remove" };
    host.removeHostNetwork!(h);
    return { ...row, outcome: "removed" };
  });
}
