/**
 * The table and JSON of `bun run bench offload` (scripts/bench-offload.ts): per path and direction
 * Gbit/s, CPU seconds per GB, the ratio to the kernel path, and the two targets per direction.
 */
/** `perRun`: Gbit/s of each run, in run order (runs interleave the paths, so run i of two paths ran side by side in time). */
export type OffloadRow = { path: string; direction: string; runs: number; gbps: number; perRun: number[]; pathCpuPerGB: number; machineCpuPerGB: number };
type Inputs = { seconds: number; runs: number; mtu: number };

const KERNEL = "veth (kernel)";
const HELPER = "vmlan helper (offload)";
/** The targets: the helper with offload against each of these, per direction. */
const TARGETS = [
  { name: "helper (offload) / C reference (offload)", ref: "C reference (offload)", min: 0.9 },
  { name: "helper (offload) / helper (no offload)", ref: "vmlan helper (no offload)", min: 3.5 },
];

export function ratios(rows: OffloadRow[]) {
  const get = (path: string, direction: string) => rows.find((r) => r.path === path && r.direction === direction);
  const withKernel = rows.map((r) => {
    const k = get(KERNEL, r.direction);
    return { ...r, vsKernel: k?.gbps ? r.gbps / k.gbps : null };
  });
  const directions = [...new Set(rows.map((r) => r.direction))];
  const targets = directions.flatMap((direction) => TARGETS.map((t) => {
    const h = get(HELPER, direction), ref = get(t.ref, direction);
    // Paired by run (the machine's load drifts between runs; a run's paths ran within seconds), then the median.
    const paired = h && ref ? h.perRun.map((x, i) => x / ref.perRun[i]!).filter((x) => Number.isFinite(x)) : [];
    const ratio = paired.length ? [...paired].sort((a, b) => a - b)[Math.floor(paired.length / 2)]! : null;
    return { target: t.name, direction, min: t.min, ratio, perRun: paired, met: ratio !== null && ratio >= t.min };
  }));
  return { rows: withKernel, targets };
}

export function printOffload(rows: OffloadRow[], inputs: Inputs, json: boolean): void {
  const r = ratios(rows);
  if (json) {
    console.log(JSON.stringify({ bench: "offload", unit: "Gbit/s", inputs, results: r.rows, targets: r.targets }, null, 2));
    return;
  }
  const fix = (x: number | null, d = 2) => (x === null ? "-" : x.toFixed(d));
  const head = ["path", "direction", "Gbit/s", "path CPU s/GB", "machine CPU s/GB", "vs kernel"];
  const table = [head, ...r.rows.map((x) => [x.path, x.direction, fix(x.gbps), x.path === KERNEL ? "-" : fix(x.pathCpuPerGB, 3), fix(x.machineCpuPerGB, 3), fix(x.vsKernel)])];
  const w = head.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  console.log(table.map((row) => row.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ")).join("\n"));
  console.log(`median of ${inputs.runs} runs of ${inputs.seconds} s (iperf3, one TCP stream, MTU ${inputs.mtu}); path CPU: the forwarder process (helper or C)`);
  console.log("targets:");
  for (const t of r.targets) {
    console.log(`  ${t.target}, ${t.direction}: ${fix(t.ratio)} (target ≥ ${t.min}) ${t.met ? "met" : "NOT met"}; per run ${t.perRun.map((x) => x.toFixed(2)).join(" ")}`);
  }
  console.log("(a target's ratio: the median of the per-run ratios; each run measures every path back to back)");
}
