/**
 * What every bench hands back: one Report, printed as tables for people or, with `--format json`,
 * as one JSON object (bench, inputs, medians, ratios) so runs can be compared by key. Progress goes
 * to stderr; stdout carries only the report. Also the statistics the benches share.
 */

export type Cell = string | number | null;
/** Flat numbers, or one level of named sizes (e.g. `"network list": {"1": 30.1, "1000": 41.7}`). */
export type Figures = Record<string, number | null | Record<string, number | null>>;

export interface Table {
  title?: string;
  head: string[];
  rows: Cell[][];
  /** One line under the table (units, what a ratio compares). */
  note?: string;
}

export interface Report {
  bench: string;
  /** What was measured with what: sizes, rates, runs, binary, load average. */
  inputs: Record<string, unknown>;
  medians: Figures;
  ratios: Figures;
  tables: Table[];
  /** Extra machine-readable detail (p10/p90, raw rows), kept out of the headline keys. */
  detail?: unknown;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (pos - lo);
}

/** Two decimals: enough for ms and ratios, and stable in JSON diffs. */
export const round2 = (x: number) => Math.round(x * 100) / 100;

export type Summary = { name: string; runs: number; median: number; p10: number; p90: number };

export function summarize(name: string, samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  return { name, runs: s.length, median: round2(quantile(s, 0.5)), p10: round2(quantile(s, 0.1)), p90: round2(quantile(s, 0.9)) };
}

export const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);

/** a / b rounded, or null when either is missing or b is 0 (a ratio never shows up as Infinity). */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return round2(a / b);
}

export async function loadAverage(): Promise<number> {
  return Number((await Bun.file("/proc/loadavg").text()).split(" ")[0]);
}

const show = (c: Cell) => (c === null ? "-" : typeof c === "number" ? (Number.isInteger(c) ? String(c) : c.toFixed(Math.abs(c) >= 100 ? 0 : Math.abs(c) >= 10 ? 1 : 2)) : c);

/** A table with the first column left-aligned and the others right-aligned. */
export function renderTable(t: Table): string {
  const rows = [t.head, ...t.rows.map((r) => r.map(show))];
  const widths = t.head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const lines = rows.map((r) => r.map((c, i) => (i === 0 ? (c ?? "").padEnd(widths[i]!) : (c ?? "").padStart(widths[i]!))).join("  ").trimEnd());
  return [...(t.title ? [t.title] : []), ...lines, ...(t.note ? [t.note] : [])].join("\n");
}

function figureLines(f: Figures): string[] {
  return Object.entries(f).map(([k, v]) =>
    v !== null && typeof v === "object" ? `  ${k}: ${Object.entries(v).map(([s, x]) => `${s} ${show(x)}`).join(", ")}` : `  ${k}: ${show(v)}`,
  );
}

export function renderReport(r: Report): string {
  const parts = r.tables.map(renderTable);
  if (Object.keys(r.ratios).length) parts.push(["ratios:", ...figureLines(r.ratios)].join("\n"));
  const inputs = Object.entries(r.inputs).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}`);
  parts.push(`inputs: ${inputs.join(" ")}`);
  return parts.join("\n\n");
}

/** The JSON form: one object; tables are left out (they repeat the medians for people). */
export function reportJson(r: Report): string {
  const { tables: _tables, ...rest } = r;
  return JSON.stringify(rest, null, 2);
}

export function printReport(r: Report, format: "table" | "json"): void {
  console.log(format === "json" ? reportJson(r) : renderReport(r));
}
