/**
 * `bench scale`, part 3 (inside the bench's namespace): memory of N `vmlan helper --fd 3` running
 * at once on one network, each on a socketpair and a TAP of its own, idle once ready. RSS counts
 * every page a process maps, the binary's shared text included, once per process; PSS splits shared
 * pages among their users, so PSS summed is what N helpers really cost the machine.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { libc } from "../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "../../ffi/libc/constants.ts";
import { vmlanBin } from "../../test/support/binary.ts";
import { median, round2 } from "../bench-report.ts";
import { vmlan } from "./commands.ts";

export const HELPER_COUNTS = [1, 10, 50];

export type HelperRow = { helpers: number; readyMs: number; rssMiB: number; pssMiB: number; perHelperRssMiB: number; perHelperPssMiB: number };

function socketpair(): [number, number] {
  const sv = new Int32Array(2);
  if (libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) !== 0) throw new Error("socketpair failed");
  return [sv[0]!, sv[1]!];
}

const kib = (text: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);

/** RSS and PSS (KiB) of one process, from smaps_rollup (Linux 4.14+). */
function memory(pid: number): { rss: number; pss: number } {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return { rss: kib(t, "Rss"), pss: kib(t, "Pss") };
}

async function firstLine(p: Bun.Subprocess<"ignore", "pipe", "ignore">): Promise<string> {
  const reader = p.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const r = await reader.read();
    if (r.done) throw new Error(`helper ${p.pid} exited before its start line: ${text}`);
    text += new TextDecoder().decode(r.value);
  }
  reader.releaseLock();
  return text;
}

/** N helpers started together; memory read once all are ready and have settled (1 s). */
async function measure(stateDir: string, n: number): Promise<HelperRow> {
  const env = { ...process.env, VMLAN_STATE_DIR: stateDir };
  const procs: Array<{ p: Bun.Subprocess<"ignore", "pipe", "ignore">; vmEnd: number }> = [];
  const t0 = performance.now();
  try {
    for (let i = 0; i < n; i++) {
      const [vmEnd, helperEnd] = socketpair();
      const p = Bun.spawn([vmlanBin(), "helper", "--fd", "3", "--network", "helpers", "--id", `helper-${i}`], { env, stdio: ["ignore", "pipe", "ignore", helperEnd] });
      libc().close(helperEnd);
      procs.push({ p, vmEnd });
    }
    await Promise.all(procs.map(({ p }) => firstLine(p)));
    const readyMs = performance.now() - t0;
    await Bun.sleep(1000);
    const mem = procs.map(({ p }) => memory(p.pid));
    const sum = (k: "rss" | "pss") => mem.reduce((a, m) => a + m[k], 0) / 1024;
    return {
      helpers: n, readyMs: round2(readyMs), rssMiB: round2(sum("rss")), pssMiB: round2(sum("pss")),
      perHelperRssMiB: round2(median(mem.map((m) => m.rss / 1024))), perHelperPssMiB: round2(sum("pss") / n),
    };
  } finally {
    for (const { p } of procs) p.kill("SIGTERM");
    await Promise.all(procs.map(({ p }) => p.exited));
    for (const { vmEnd } of procs) libc().close(vmEnd);
  }
}

export async function helperMemory(root: string, counts = HELPER_COUNTS): Promise<HelperRow[]> {
  const dir = join(root, "helpers");
  // A /22: 50 helpers and their sticky claims fit many times over.
  vmlan(dir, "network", "create", "helpers", "--mode", "host", "--subnet", "10.66.0.0/22");
  const rows: HelperRow[] = [];
  for (const n of counts) {
    console.error(`bench: scale: ${n} helper(s) at once`);
    rows.push(await measure(dir, n));
  }
  vmlan(dir, "network", "rm", "helpers", "--force");
  return rows;
}
