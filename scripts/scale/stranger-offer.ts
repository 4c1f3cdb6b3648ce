/**
 * `bench scale`, alloc part: the DHCP server's answer to a DISCOVER from a MAC vmlan has never seen,
 * on a network with many attachments. A stranger may not take the pool's reserve, so every offer
 * checks how much of the pool is in use: what that check costs is what could grow with the network.
 */
import { join } from "node:path";
import { LeaseService } from "../../src/core/leases.ts";
import { NetworkService } from "../../src/core/networks.ts";
import { offer } from "../../src/core/ipam/dhcp.ts";
import { median, round2 } from "../bench-report.ts";
import { NO_HOST, storeOf } from "./populate.ts";

export const STRANGER_SIZES = [10, 1000, 10_000];
export type StrangerRow = { attachments: number; offerMs: number; heldOfferMs: number };

const strangerMac = (k: number) => `02:ee:00:${(k >> 16).toString(16).padStart(2, "0")}:${((k >> 8) & 255).toString(16).padStart(2, "0")}:${(k & 255).toString(16).padStart(2, "0")}`;

/** The median of 51 offers to new MACs on `store`'s network "big", from MAC number `from` on. */
function offers(store: ReturnType<typeof storeOf>, from: number): number {
  const net = store.getNetwork("big")!;
  const times: number[] = [];
  for (let k = from; k < from + 51; k++) {
    const t0 = performance.now();
    const made = store.tx(() => offer(store, net, strangerMac(k), Date.now()));
    times.push(performance.now() - t0);
    if (!made.ok) throw new Error(`bench: no offer for a stranger: ${made.reason}`);
  }
  return round2(median(times));
}

/** Per size n: offers with n attachments on the network, and with n offers already held (a flood of DISCOVERs). */
export async function strangerOffers(root: string, sizes = STRANGER_SIZES): Promise<StrangerRow[]> {
  const rows: StrangerRow[] = [];
  for (const n of sizes) {
    const store = storeOf(join(root, `stranger-${n}`));
    const flooded = storeOf(join(root, `flooded-${n}`));
    try {
      for (const s of [store, flooded]) await new NetworkService(s, NO_HOST).create({ name: "big", mode: "host", subnet: "10.90.0.0/16" });
      console.error(`bench: scale: DHCP offers to unknown MACs with ${n} attachments, and with ${n} offers held`);
      new LeaseService(store).attachMany(Array.from({ length: n }, (_, i) => ({ network: "big", id: `vm-${i}` })));
      const net = flooded.getNetwork("big")!;
      flooded.tx(() => { for (let k = 0; k < n; k++) offer(flooded, net, strangerMac(60_000 + k), Date.now()); });
      rows.push({ attachments: n, offerMs: offers(store, 0), heldOfferMs: offers(flooded, 0) });
    } finally {
      store.close();
      flooded.close();
    }
  }
  return rows;
}
