/**
 * The record of a bridged network's move (platform/types.ts UplinkMoved) as the store keeps it: JSON
 * text in networks.uplink_moved, validated on the way in and out like every other row, and the
 * journal the platform reads and writes through.
 */
import * as v from "valibot";
import { StoreError } from "../errors.ts";
import type { UplinkJournal, UplinkMoved } from "../../platform/types.ts";
import { Ifname } from "./names.ts";

const u32 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
const u8 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(255));
const Prefix = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(128));
const Ip = v.pipe(v.string(), v.maxLength(45));

const MovedAddress = v.object({ address: Ip, prefix: Prefix, flags: u32 });
const MovedRoute = v.object({
  dst: Ip, prefix: Prefix, gateway: v.nullable(Ip), priority: v.nullable(u32), prefsrc: v.nullable(Ip),
  protocol: u8, scope: u8, type: u8, table: u32, flags: u32,
});
export const UplinkMovedSchema = v.object({ uplink: Ifname, addresses: v.array(MovedAddress), routes: v.array(MovedRoute) });

// The schema and the platform's interface describe the same record.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _same: Same<v.InferOutput<typeof UplinkMovedSchema>, UplinkMoved> = true;
void _same;

export function parseUplinkMoved(network: string, text: string | null): UplinkMoved | null {
  if (text === null) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new StoreError(`stored network "${network}" has an unreadable uplink record`);
  }
  const out = v.safeParse(UplinkMovedSchema, raw);
  if (!out.success) throw new StoreError(`stored network "${network}" has an invalid uplink record: ${out.issues[0].message}`);
  return out.output;
}

/** The journal of one network over the store's two calls (each a transaction of its own). */
export function uplinkJournal(store: { getUplinkMoved(n: string): string | null; setUplinkMoved(n: string, j: string | null): void; tx<T>(f: () => T): T }, network: string): UplinkJournal {
  return {
    read: () => parseUplinkMoved(network, store.getUplinkMoved(network)),
    write: (moved) => {
      const text = moved === null ? null : JSON.stringify(v.parse(UplinkMovedSchema, moved));
      store.tx(() => store.setUplinkMoved(network, text));
    },
  };
}
