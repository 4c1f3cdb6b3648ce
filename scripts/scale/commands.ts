/**
 * `bench scale`, part 1 (inside the bench's namespace): what a CLI command costs as the store grows.
 * Two axes, each in a state dir of its own: N networks (one attachment each; the first network is
 * made by `vmlan network create`, so it has a real bridge and table for `inspect`), and M
 * attachments on one network. Every command is the compiled binary, spawned and waited for; the
 * floor is `vmlan version` (the runtime's start, no store). Also: 10,000 attaches in this process
 * through the core services, the first and the last thousand timed apart (does an attach get
 * slower as the network fills?).
 */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { vmlanBin } from "../../test/support/binary.ts";
import { summarize, type Summary } from "../bench-report.ts";
import { addAttachments, addNetworks, benchNetwork, NO_HOST, storeOf } from "./populate.ts";

export const NETWORK_SIZES = [1, 100, 1000];
export const ATTACHMENT_SIZES = [10, 1000, 10_000];
export const COMMANDS = ["network list", "attachments", "network inspect", "attach", "network create + rm"] as const;

export type CommandRow = { axis: "networks" | "attachments"; size: number; command: string } & Summary;

function env(stateDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("VMLAN_")) out[k] = v;
  return { ...out, VMLAN_STATE_DIR: stateDir };
}

/** One command to completion; throws with its stderr when it fails, so a bench never times errors. */
export function vmlan(stateDir: string, ...args: string[]): string {
  const r = Bun.spawnSync([vmlanBin(), ...args], { env: env(stateDir), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`vmlan ${args.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

function timeRuns(runs: number, fn: (i: number) => void, setup?: (i: number) => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    setup?.(i);
    const t0 = performance.now();
    fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

/** The commands of one store, `runs` times each (after one untimed warm-up that fills the page cache). */
function timeCommands(stateDir: string, network: string, runs: number): Map<string, number[]> {
  const run = (...a: string[]) => vmlan(stateDir, ...a);
  const out = new Map<string, number[]>();
  run("network", "list");
  out.set("network list", timeRuns(runs, () => run("network", "list")));
  out.set("attachments", timeRuns(runs, () => run("attachments")));
  out.set("network inspect", timeRuns(runs, () => run("network", "inspect", network)));
  // A new id each run, detached again untimed, so the size stays what it says.
  out.set("attach", timeRuns(runs, (i) => run("attach", network, "--id", `bench-new-${i}`)));
  for (let i = 0; i < runs; i++) run("detach", network, "--id", `bench-new-${i}`);
  out.set("network create + rm", timeRuns(runs, () => {
    run("network", "create", "bench-rt", "--mode", "host", "--subnet", "10.199.0.0/24");
    run("network", "rm", "bench-rt");
  }));
  return out;
}

export async function commandCosts(root: string, runs: number, sizes = { networks: NETWORK_SIZES, attachments: ATTACHMENT_SIZES }): Promise<{ rows: CommandRow[]; floor: Summary }> {
  const rows: CommandRow[] = [];
  const push = (axis: CommandRow["axis"], size: number, samples: Map<string, number[]>) => {
    for (const [command, xs] of samples) rows.push({ axis, size, command, ...summarize(command, xs) });
  };
  const floorDir = join(root, "floor");
  mkdirSync(floorDir, { recursive: true });
  const floor = summarize("vmlan version", timeRuns(runs, () => vmlan(floorDir, "version")));
  for (const n of sizes.networks) {
    const dir = join(root, `networks-${n}`);
    console.error(`bench: scale: ${n} network(s)`);
    const first = benchNetwork(0);
    vmlan(dir, "network", "create", first.name, "--mode", first.mode, "--subnet", first.subnet);
    vmlan(dir, "attach", first.name, "--id", "vm-0");
    await addNetworks(dir, 1, n, { perNetwork: 1 });
    push("networks", n, timeCommands(dir, first.name, runs));
  }
  for (const m of sizes.attachments) {
    const dir = join(root, `attachments-${m}`);
    console.error(`bench: scale: ${m} attachments on one network`);
    const net = benchNetwork(0);
    vmlan(dir, "network", "create", net.name, "--mode", net.mode, "--subnet", "10.64.0.0/16");
    addAttachments(dir, net.name, m);
    push("attachments", m, timeCommands(dir, net.name, runs));
  }
  return { rows, floor };
}

export type InProcess = {
  count: number; runs: number; total: Summary; first1000: Summary; last1000: Summary;
  /** The same attaches through LeaseService.attachMany: one transaction for all (what apply does). */
  batch: Summary;
  /** The floor of one transaction each: bare SQLite, one small row per transaction, same pragmas, same disk. */
  sqliteFloor: Summary;
};

/** `count` attaches in this process over a file store (no host), as `bench control-plane` measures; at most 5 runs. */
export async function inProcessAllocations(root: string, runs: number, count = 10_000): Promise<InProcess> {
  const { NetworkService } = await import("../../src/core/networks.ts");
  const { LeaseService } = await import("../../src/core/leases.ts");
  const n = Math.min(runs, 5);
  const totals: number[] = [], firsts: number[] = [], lasts: number[] = [], batches: number[] = [], floors: number[] = [];
  console.error(`bench: scale: ${count} allocations in one process (${n} runs)`);
  const fresh = async (name: string) => {
    const store = storeOf(join(root, name));
    await new NetworkService(store, NO_HOST).create({ name: "alloc", mode: "host", subnet: "10.64.0.0/16" });
    return { store, leases: new LeaseService(store) };
  };
  for (let r = 0; r < n; r++) {
    const one = await fresh(`alloc-${r}`);
    try {
      const t0 = performance.now();
      let mark = t0;
      for (let i = 0; i < count; i++) {
        one.leases.attach({ network: "alloc", id: `vm-${i}` });
        if (i === 999) firsts.push(performance.now() - mark);
        if (i === count - 1001) mark = performance.now();
      }
      const end = performance.now();
      lasts.push(end - mark);
      totals.push(end - t0);
    } finally {
      one.store.close();
    }
    const many = await fresh(`alloc-batch-${r}`);
    try {
      const reqs = Array.from({ length: count }, (_, i) => ({ network: "alloc", id: `vm-${i}` }));
      const t0 = performance.now();
      const out = many.leases.attachMany(reqs);
      batches.push(performance.now() - t0);
      if (out.some((x) => !x || "error" in x)) throw new Error("attachMany failed in the bench");
    } finally {
      many.store.close();
    }
    floors.push(sqliteFloor(join(root, `floor-${r}.db`), count));
  }
  return {
    count, runs: n, total: summarize("one transaction each", totals), first1000: summarize("  first 1000", firsts), last1000: summarize("  last 1000", lasts),
    batch: summarize("one transaction for all (attachMany)", batches), sqliteFloor: summarize("bare SQLite, one row per transaction", floors),
  };
}

/** `count` one-row transactions in WAL with synchronous=NORMAL (the store's pragmas): what durability alone costs here. */
function sqliteFloor(path: string, count: number): number {
  const db = new Database(path, { create: true, strict: true });
  try {
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = NORMAL");
    db.run("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER) STRICT");
    const begin = db.prepare("BEGIN IMMEDIATE"), commit = db.prepare("COMMIT"), ins = db.prepare("INSERT INTO t (id, v) VALUES (?, ?)");
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      begin.run();
      ins.run(`vm-${i}`, i);
      commit.run();
    }
    return performance.now() - t0;
  } finally {
    db.close();
  }
}
