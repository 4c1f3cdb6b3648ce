/**
 * Per-direction counters shared by the forwarding workers and the helper's main thread through one
 * SharedArrayBuffer. Each counter has exactly one writer (the worker of its direction), so plain
 * Float64 stores suffice; the reader may see a value a batch old, which is fine for statistics.
 * Directions are named relative to the VM, as vmnet-helper does.
 */
export const DIRECTIONS = ["host_to_vm", "vm_to_host"] as const;
export type Direction = (typeof DIRECTIONS)[number];

export const FIELDS = ["packets", "bytes", "drops", "malformed", "batches", "retries"] as const;
export type Field = (typeof FIELDS)[number];
export type DirectionStats = Record<Field, number>;

const STRIDE = 8;

export function createStatsBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(DIRECTIONS.length * STRIDE * 8);
}

/** The counters of one direction, as a worker writes them. */
export class Counters {
  readonly #v: Float64Array;
  constructor(sab: SharedArrayBuffer, direction: Direction) {
    this.#v = new Float64Array(sab, DIRECTIONS.indexOf(direction) * STRIDE * 8, STRIDE);
  }
  add(field: Field, n: number): void {
    this.#v[FIELDS.indexOf(field)]! += n;
  }
  /** Hot-path form: one call per batch. */
  addBatch(packets: number, bytes: number, drops: number, malformed: number, retries: number): void {
    const v = this.#v;
    v[0]! += packets;
    v[1]! += bytes;
    v[2]! += drops;
    v[3]! += malformed;
    v[4]! += 1;
    v[5]! += retries;
  }
}

export function snapshot(sab: SharedArrayBuffer): Record<Direction, DirectionStats> {
  const out = {} as Record<Direction, DirectionStats>;
  for (const [d, dir] of DIRECTIONS.entries()) {
    const v = new Float64Array(sab, d * STRIDE * 8, STRIDE);
    out[dir] = Object.fromEntries(FIELDS.map((f, i) => [f, v[i]!])) as DirectionStats;
  }
  return out;
}

/** ISO 8601 local time with milliseconds and offset, as vmnet-helper stamps its stats ("2025-02-01T10:20:30.456+02:00"). */
export function localTimestamp(d: Date): string {
  const p = (n: number, w = 2) => String(Math.trunc(Math.abs(n))).padStart(w, "0");
  const off = -d.getTimezoneOffset();
  const date = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return `${date}.${p(d.getMilliseconds(), 3)}${off < 0 ? "-" : "+"}${p(off / 60)}:${p(off % 60)}`;
}

/**
 * vmnet-helper's endpoint counters (programs/helper.c report_stats): "host" is what came from the
 * host and went to the VM, "vm" the other way. packets/bytes were delivered, drops were not; "fast"
 * counts the batched socket calls (sendmmsg toward the VM, retries included; recvmmsg from it),
 * "slow" single-frame socket calls, which vmlan never makes. vmlan's own counters follow.
 */
function endpoint(s: DirectionStats, vmIsDestination: boolean): string {
  const fast = s.batches + (vmIsDestination ? s.retries : 0);
  return `{"packets": ${s.packets}, "bytes": ${s.bytes}, "drops": ${s.drops}, "fast": ${fast}, "slow": 0, "malformed": ${s.malformed}, "retries": ${s.retries}}`;
}

/** One stderr line in vmnet-helper's format: `INFO  [stats] {"time": "...", "host": {...}, "vm": {...}}` (cumulative). */
export function statsLine(sab: SharedArrayBuffer, now = new Date()): string {
  const s = snapshot(sab);
  return `INFO  [stats] {"time": "${localTimestamp(now)}", "host": ${endpoint(s.host_to_vm, true)}, "vm": ${endpoint(s.vm_to_host, false)}}`;
}
