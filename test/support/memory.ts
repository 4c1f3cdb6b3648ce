import { Store } from "../../src/core/store/store.ts";
import { NetworkService } from "../../src/core/networks.ts";
import { LeaseService } from "../../src/core/leases.ts";
import { buildNetwork, parseRequest } from "../../src/core/network-config.ts";
import { bridgeNameFor } from "../../src/core/resources/names.ts";

/** A real SQLite store in memory with networks inserted directly (no host side). */
export function memoryStore(): Store {
  return new Store(":memory:");
}

export function addNetwork(store: Store, name: string, subnet: string, extra: Record<string, unknown> = {}) {
  const n = buildNetwork(parseRequest({ name, subnet, ...extra }), subnet, bridgeNameFor(name), new Date().toISOString());
  store.tx(() => store.insertNetwork(n));
  return n;
}

export function services(store = memoryStore()) {
  return { store, networks: new NetworkService(store, null), leases: new LeaseService(store) };
}
