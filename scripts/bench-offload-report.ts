/**
 * The report of `bun run bench offload` (scripts/bench-offload.ts): per path and direction Gbit/s,
 * CPU seconds per GB, the ratio to the kernel path, and the two targets per direction.
 */
import { median, ratio, round2, type Figures, type Report } from "./bench-report.ts";

/** `perRun`: Gbit/s of each run, in run order (runs interleave the paths, so run i of two paths ran side by side in time). */
export type OffloadRow = { path: string; direction: string; runs: number; gbps: number; perRun: number[]; pathCpuPerGB: number; machineCpuPerGB: number };

const KERNEL = "veth (kernel)";
const HELPER = "vmlan helper (offload)";
/** The targets: the helper with offload against each of these, per direction. */
const TARGETS = [
  { name: "helper (offload) / C reference (offload)", ref: "C reference (offload)", min: 0.9 },
  { name: "helper (offload) / helper (no offload)", ref: "vmlan helper (no offload)", min: 3.5 },
];

export function offloadReport(rows: OffloadRow[], inputs: Record<string, unknown>): Report {
  const get = (path: string, direction: string) => rows.find((r) => r.path === path && r.direction === direction);
  const key = (r: OffloadRow) => `${r.path} ${r.direction}`;
  const directions = [...new Set(rows.map((r) => r.direction))];
  const targets = directions.flatMap((direction) => TARGETS.map((t) => {
    const h = get(HELPER, direction), ref = get(t.ref, direction);
    // Paired by run (the machine's load drifts between runs; a run's paths ran within seconds), then the median.
    const paired = h && ref ? h.perRun.map((x, i) => x / ref.perRun[i]!).filter((x) => Number.isFinite(x)) : [];
    const r = paired.length ? round2(median(paired)) : null;
    return { target: t.name, direction, min: t.min, ratio: r, perRun: paired.map(round2), met: r !== null && r >= t.min };
  }));
  const per = (f: (r: OffloadRow) => number | null): Record<string, number | null> => Object.fromEntries(rows.map((r) => [key(r), f(r)]));
  const medians: Figures = {
    "Gbit/s": per((r) => round2(r.gbps)),
    "path CPU s/GB": per((r) => (r.path === KERNEL ? null : round2(r.pathCpuPerGB * 1000) / 1000)),
    "machine CPU s/GB": per((r) => round2(r.machineCpuPerGB * 1000) / 1000),
  };
  const ratios: Figures = { "vs kernel": per((r) => ratio(r.gbps, get(KERNEL, r.direction)?.gbps)) };
  for (const t of TARGETS) ratios[t.name] = Object.fromEntries(targets.filter((x) => x.target === t.name).map((x) => [x.direction, x.ratio]));
  return {
    bench: "offload", inputs, medians, ratios,
    tables: [
      {
        head: ["path", "direction", "Gbit/s", "path CPU s/GB", "machine CPU s/GB", "vs kernel"],
        rows: rows.map((r) => [r.path, r.direction, round2(r.gbps), r.path === KERNEL ? null : round2(r.pathCpuPerGB), round2(r.machineCpuPerGB), ratio(r.gbps, get(KERNEL, r.direction)?.gbps)]),
        note: "median of the runs (iperf3, one TCP stream); path CPU: the forwarder process (helper or C); machine CPU: /proc/stat",
      },
      {
        title: "targets (each ratio: the median of per-run ratios; each run measures every path back to back)",
        head: ["target", "direction", "ratio", "minimum", "met", "per run"],
        rows: targets.map((t) => [t.target, t.direction, t.ratio, t.min, t.met ? "yes" : "NO", t.perRun.join(" ")]),
      },
    ],
    detail: { rows, targets },
  };
}
