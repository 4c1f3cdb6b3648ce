/**
 * `bench scale`, alloc part: one attach of a new id into a pool whose every address is a released
 * (sticky) claim, the state a long-lived network drifts into. It takes the oldest claim; what it
 * costs to find out that no address is free is what grows with the pool.
 */
import { join } from "node:path";
import { LeaseService } from "../../src/core/leases.ts";
import { NetworkService } from "../../src/core/networks.ts";
import { median, round2 } from "../bench-report.ts";
import { NO_HOST, storeOf } from "./populate.ts";

export const FULL_POOL_PREFIXES = [22, 20, 18];
export type FullPoolRow = { pool: number; attachMs: number };

export async function fullPoolAttach(root: string, prefixes = FULL_POOL_PREFIXES): Promise<FullPoolRow[]> {
  const rows: FullPoolRow[] = [];
  for (const prefix of prefixes) {
    const store = storeOf(join(root, `full-${prefix}`));
    try {
      await new NetworkService(store, NO_HOST).create({ name: "full", mode: "host", subnet: `10.80.0.0/${prefix}` });
      const leases = new LeaseService(store);
      const pool = 2 ** (32 - prefix) - 3;
      console.error(`bench: scale: attach into a full pool of ${pool} released claims`);
      leases.attachMany(Array.from({ length: pool }, (_, i) => ({ network: "full", id: `vm-${i}` })));
      store.tx(() => { for (let i = 0; i < pool; i++) leases.detach("full", `vm-${i}`); });
      const times: number[] = [];
      for (let k = 0; k < 7; k++) {
        const t0 = performance.now();
        leases.attach({ network: "full", id: `new-${k}` });
        times.push(performance.now() - t0);
      }
      rows.push({ pool, attachMs: round2(median(times)) });
    } finally {
      store.close();
    }
  }
  return rows;
}
