import { Store } from "../core/store/store.ts";
import { storePath } from "../core/store/paths.ts";
import { NetworkService } from "../core/networks.ts";
import { LeaseService } from "../core/leases.ts";
import { ownerPolicy } from "./owners.ts";
import type { Platform } from "../platform/types.ts";
import { portViews, rulesOf } from "../core/ports/state.ts";

/** Opens the store; the platform (native libraries) only for commands that touch the host. */
export function openStore(): Store {
  return new Store(storePath());
}

export async function loadPlatform(): Promise<Platform> {
  const { hostPlatform } = await import("../platform/index.ts");
  return hostPlatform();
}

export async function networkService(withHost: boolean): Promise<NetworkService> {
  const store = openStore();
  const platform = withHost ? await loadPlatform() : null;
  // Where a network's holder applies its published ports itself (macOS), it reads them from this store.
  platform?.ports?.useRules?.((network) => rulesOf(portViews(store), network));
  return new NetworkService(store, platform);
}

/**
 * Owners are told apart by pid + start time, and a dead helper's socket files go with its orphan.
 * `store`: one the caller has open already (a helper does all its lease work on one connection).
 */
export function leaseService(store: Store = openStore()): LeaseService {
  return new LeaseService(store, undefined, ownerPolicy);
}
