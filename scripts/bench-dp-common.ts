/**
 * Pieces both datapath benchmarks share (scripts/bench-datapath.ts: datagram paths; bench-stream.ts:
 * the stream path of `vmlan switch`): running commands, CPU pinning, reading a child's lines, and
 * counting frames the bridge hands to the sink veth.
 */
import { readFileSync } from "node:fs";

export type Row = {
  path: string; direction: string; size: number; fps: number; gbps: number; loss: number;
  /** The reference this row is compared with ("vs" column), and clients on the path when more than one. */
  ref?: string; clients?: number;
};
export type Sample = { fps: number; loss: number };

/**
 * CPU pinning (BENCH_PIN=0 turns it off): the path under test (helper, switch or C forwarder, all its
 * threads) on CPU 1, the traffic generator and sink on CPU 0, so neither steals the other's core.
 * Unpinned runs on this 2-core machine moved each cell by about ±20 % from run to run.
 */
const PIN = process.env.BENCH_PIN !== "0" && (navigator.hardwareConcurrency ?? 1) >= 2 && Boolean(Bun.which("taskset"));
export const onPath = (argv: string[]) => (PIN ? ["taskset", "-c", "1", ...argv] : argv);
export const onTraffic = (argv: string[]) => (PIN ? ["taskset", "-c", "0", ...argv] : argv);

export const sh = (argv: string[]) => {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
};

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Line reader over a child's stdout (one reader for its lifetime: a stream cannot be re-read). */
export function lineReader(p: ReturnType<typeof Bun.spawn>): () => Promise<string> {
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  return async () => {
    while (!text.includes("\n")) {
      const r = await reader.read();
      if (r.done) throw new Error(`process exited before printing a line: ${text}`);
      text += new TextDecoder().decode(r.value);
    }
    const line = text.slice(0, text.indexOf("\n"));
    text = text.slice(line.length + 1);
    return line;
  };
}
export const firstLine = (p: ReturnType<typeof Bun.spawn>) => lineReader(p)();

/** "frames N bytes B seconds T" as bench/c/traffic.c prints it: the rate over its own window. */
export function parseTraffic(line: string, count: number): Sample {
  const m = /frames (\d+) bytes \d+ seconds ([\d.]+)/.exec(line);
  const frames = Number(m?.[1] ?? 0), secs = Number(m?.[2] ?? 0);
  return { fps: secs > 0 ? frames / secs : 0, loss: 1 - frames / count };
}

const txPackets = () => Number(readFileSync("/sys/class/net/sk0/statistics/tx_packets", "utf8"));

/** Polls the sink veth's tx counter while `gens` run; rate over the window in which it moved. */
export async function countAtVeth(gens: ReturnType<typeof Bun.spawn>[], count: number): Promise<Sample> {
  const start = txPackets();
  let first = 0, firstT = 0, last = start, lastT = 0;
  let quietSince = 0;
  const done = () => gens.every((g) => g.exitCode !== null);
  for (;;) {
    await Bun.sleep(5);
    const now = performance.now(), c = txPackets();
    if (c !== last) {
      if (!firstT) { first = last; firstT = lastT || now; }
      last = c; lastT = now; quietSince = now;
    }
    if (done() && quietSince && now - quietSince > 300) break;
    if (done() && !quietSince && now - (lastT || now) > 2000) break;
  }
  const frames = last - first;
  return { fps: frames / ((lastT - firstT) / 1000 || Infinity), loss: Math.max(0, 1 - (last - start) / count) };
}

export function row(path: string, direction: string, size: number, samples: Sample[], extra: Partial<Row> = {}): Row {
  const fps = median(samples.map((s) => s.fps));
  console.error(`bench: ${path} ${direction} ${size} B: ${(fps / 1e3).toFixed(1)} kframes/s`);
  return { path, direction, size, fps, gbps: (fps * size * 8) / 1e9, loss: median(samples.map((s) => s.loss)), ...extra };
}
