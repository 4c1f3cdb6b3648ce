/**
 * `bench scale`, part 2 (inside the bench's namespace): `vmlan system start` with N stored shared
 * dual-stack networks (the default one, IPv4 only, included; each other one also has DHCP, DNS and
 * router advertisements), as after a reboot: no bridge, no table, no daemon. Per run:
 * cold start (N bridges, N nftables tables, the services daemon's first reconcile: system start
 * returns once the daemon serves), warm start (everything is there already), then the daemon
 * idle for a while (its periodic reconcile over N networks: CPU and RSS), then `system stop`.
 * The reference, in the same namespace: N bridges made and deleted by hand with `ip -batch` (one
 * process, one netlink request per bridge), the kernel's own cost for the links.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { summarize, type Summary } from "../bench-report.ts";
import { vmlan } from "./commands.ts";
import { addNetworks } from "./populate.ts";

export const START_SIZES = [1, 50, 200];
/** How long the idle daemon is watched (its reconcile runs every 2 s). */
const IDLE_MS = 10_000;

export type StartRow = {
  networks: number; cold: Summary; warm: Summary; stop: Summary; idleCpuPct: number; daemonRssMiB: number; daemonThreads: number;
  /** `ip -batch` making and deleting as many bridges (up, with an address), ms. */
  ipAdd: number; ipDel: number;
};

/** N bridges made, then deleted, by one `ip -batch -` each: what the kernel alone takes for the links. */
function byHand(n: number): { ipAdd: number; ipDel: number } {
  const batch = (lines: string[]) => {
    const t0 = performance.now();
    const r = Bun.spawnSync(["ip", "-batch", "-"], { stdin: Buffer.from(`${lines.join("\n")}\n`), stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`ip -batch: ${r.stderr.toString().trim()}`);
    return performance.now() - t0;
  };
  const names = Array.from({ length: n }, (_, i) => `ref${i}`);
  const ipAdd = batch(names.flatMap((b, i) => [`link add ${b} type bridge`, `addr add 10.250.${i & 255}.${1 + (i >> 8)}/32 dev ${b}`, `link set ${b} up`]));
  const ipDel = batch(names.map((b) => `link del ${b}`));
  return { ipAdd, ipDel };
}

const TICK = 100; // clock ticks per second (sysconf(_SC_CLK_TCK) is 100 on Linux)

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICK; // utime, stime (fields 14 and 15 of stat(5))
}

function status(pid: number, key: string): number {
  return Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
}

const daemonPid = (dir: string) => Number(readFileSync(join(dir, "services.pid"), "utf8").trim());

export async function startCosts(root: string, runs: number, sizes = START_SIZES): Promise<StartRow[]> {
  const rows: StartRow[] = [];
  for (const n of sizes) {
    const dir = join(root, `start-${n}`);
    // The default network is created by the first start; n - 1 more are stored beforehand.
    await addNetworks(dir, 1, n, { mode: "shared", v6: true });
    const cold: number[] = [], warm: number[] = [], stop: number[] = [], cpu: number[] = [], rss: number[] = [], threads: number[] = [];
    const r = Math.min(runs, 3);
    console.error(`bench: scale: system start with ${n} network(s) (${r} runs)`);
    for (let i = 0; i < r; i++) {
      let t0 = performance.now();
      vmlan(dir, "system", "start");
      cold.push(performance.now() - t0);
      t0 = performance.now();
      vmlan(dir, "system", "start");
      warm.push(performance.now() - t0);
      const pid = daemonPid(dir);
      const c0 = cpuSeconds(pid);
      await Bun.sleep(IDLE_MS);
      cpu.push(((cpuSeconds(pid) - c0) / (IDLE_MS / 1000)) * 100);
      rss.push(status(pid, "VmRSS") / 1024);
      threads.push(status(pid, "Threads"));
      t0 = performance.now();
      vmlan(dir, "system", "stop");
      stop.push(performance.now() - t0);
    }
    const med = (xs: number[]) => summarize("", xs).median;
    const ref = byHand(n);
    rows.push({ ...ref,
      networks: n, cold: summarize("cold", cold), warm: summarize("warm", warm), stop: summarize("stop", stop),
      idleCpuPct: med(cpu), daemonRssMiB: med(rss), daemonThreads: med(threads),
    });
  }
  return rows;
}
