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

/** One stderr line: `{"time":"...","host_to_vm":{...},"vm_to_host":{...}}` (cumulative counters). */
export function statsLine(sab: SharedArrayBuffer, now = new Date()): string {
  return JSON.stringify({ time: now.toISOString(), ...snapshot(sab) });
}
