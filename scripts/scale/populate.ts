/**
 * Fills a state dir's store for `bench scale`: networks and attachments written through the core
 * services (validated, as the CLI writes them) but with a platform that touches nothing, so 1,000
 * networks cost seconds and no host object. What the bench then times (the CLI, system start) finds
 * them as a store left by earlier commands, e.g. after a reboot.
 */
import { join } from "node:path";
import { NetworkService } from "../../src/core/networks.ts";
import { LeaseService } from "../../src/core/leases.ts";
import { Store } from "../../src/core/store/store.ts";
import type { Platform } from "../../src/platform/types.ts";

/** A platform with no host: every call succeeds and changes nothing. */
export const NO_HOST: Platform = {
  os: "linux", checkPrivileges() {}, async checkSubnetFree() {}, async ensureNetwork() {}, async removeNetwork() {},
  async status(spec) { return { name: spec.name, bridge: spec.bridge, up: false, addresses: [], nat: false }; },
  async probeUplink(): Promise<never> { throw new Error("no uplinks in this bench"); }, async listUplinks() { return []; },
};

export const storeOf = (stateDir: string) => new Store(join(stateDir, "vmlan.db"));

/** The i-th bench network: `s0042`, on 10.(200 + i/256).(i%256).0/24 (1,000 networks fit in 10.200-203); dual-stack with fd00:5ca1:i::/64 when asked. */
export function benchNetwork(i: number, mode: "shared" | "host" = "host", v6 = false): { name: string; mode: string; subnet: string; subnetV6?: string } {
  if (i >= 4 * 256) throw new Error(`bench network ${i}: at most ${4 * 256}`);
  return { name: `s${String(i).padStart(4, "0")}`, mode, subnet: `10.${200 + (i >> 8)}.${i & 255}.0/24`, ...(v6 ? { subnetV6: `fd00:5ca1:${i.toString(16)}::/64` } : {}) };
}

/** Networks from..to-1 in the store, each with `perNetwork` attachments (ids `vm-0`...). */
export async function addNetworks(stateDir: string, from: number, to: number, o: { mode?: "shared" | "host"; perNetwork?: number; v6?: boolean } = {}): Promise<void> {
  const store = storeOf(stateDir);
  try {
    const nets = new NetworkService(store, NO_HOST);
    const leases = new LeaseService(store);
    for (let i = from; i < to; i++) {
      const { network } = await nets.create(benchNetwork(i, o.mode, o.v6));
      for (let k = 0; k < (o.perNetwork ?? 0); k++) leases.attach({ network: network.name, id: `vm-${k}` });
    }
  } finally {
    store.close();
  }
}

/** `count` attachments on `network` (ids `guest-<n>` from `first`): with hostnames, as DHCP clients or VMs would have. */
export function addAttachments(stateDir: string, network: string, count: number, first = 0): void {
  const store = storeOf(stateDir);
  try {
    const leases = new LeaseService(store);
    for (let i = first; i < first + count; i++) leases.attach({ network, id: `guest-${i}` });
  } finally {
    store.close();
  }
}
