/**
 * A forwarding helper compiles nothing with JavaScriptCore's FTL tier but the one function
 * datapath/no-ftl.ts allows (the checksum's loop, which only offload runs): each FTL compile pages
 * in 8–10 MB of the runtime's compiler code, which its RSS counts until the next trim (bench
 * helper). Frames flow both ways at full rate (bench/c/traffic.c: into the VM socket, and from a
 * packet socket on the bridge towards the VM's MAC), with and without --enable-tso, under
 * JavaScriptCore's own compile report and tier-up thresholds lowered so that any function left
 * unmarked reaches FTL within the test's seconds. The same report must show DFG compiles, so the
 * check cannot pass because nothing was compiled at all. The helper runs from source: the report
 * names functions as the code does (the compiled binary's are minified), and which functions may
 * reach FTL is the code's choice, not the build's.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { createNetns, type Netns } from "../../support/netns.ts";
import { vmSocketpair } from "../../../src/datapath/vm-socket.ts";
import { libc } from "../../../ffi/libc/load.ts";
import { FTL_ALLOWED } from "../../../src/datapath/no-ftl.ts";
import { LineProc } from "./proc.ts";

const REPO = join(import.meta.dir, "..", "..", "..");
const dir = mkdtempSync(join(tmpdir(), "vmlan-jit-"));
const TRAFFIC = join(dir, "traffic");
const env = { VMLAN_STATE_DIR: join(dir, "state") };
const procs: LineProc[] = [];
let ns: Netns;

/** JavaScriptCore's compile report, and FTL's thresholds 100× lower than its defaults (JSC OptionsList.h). */
const JIT_REPORT = {
  BUN_JSC_reportDFGCompileTimes: "1",
  BUN_JSC_reportFTLCompileTimes: "1",
  BUN_JSC_thresholdForFTLOptimizeAfterWarmUp: "1000",
  BUN_JSC_thresholdForFTLOptimizeSoon: "10",
};

beforeAll(async () => {
  const cc = Bun.spawnSync(["gcc", "-O2", "-o", TRAFFIC, join(REPO, "bench", "c", "traffic.c")], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`gcc traffic.c: ${cc.stderr}`);
  ns = createNetns();
  const r = await runVmlan(["network", "create", "j", "--subnet", "10.76.0.0/24", "--mode", "host", "--mtu", "1500"], { env, netns: ns.name });
  if (r.exitCode !== 0) throw new Error(`network create: ${r.stderr}`);
});
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  ns?.delete();
  rmSync(dir, { recursive: true, force: true });
});

const spawn = (argv: string[], fds: number[] = [], extra: Record<string, string> = {}) => {
  const p = new LineProc(["ip", "netns", "exec", ns.name, ...argv], { ...env, ...extra }, fds);
  procs.push(p);
  return p;
};

test.each([[[]], [["--enable-tso"]]])("helper %p: frames both ways at full rate, the loop compiled with DFG, nothing but the checksum loop with FTL", async (flags: string[]) => {
  const [vmEnd, helperEnd] = vmSocketpair(flags.length > 0);
  const h = spawn([process.execPath, join(REPO, "src", "main.ts"), "helper", "--fd", "3", "--network", "j", "--id", `jit${flags.length}`, ...flags], [helperEnd], JIT_REPORT);
  const { vmnet_mac_address: mac } = JSON.parse(await h.waitFor(/^\{/)) as { vmnet_mac_address: string };
  const gens = [
    spawn([TRAFFIC, "gen", "--fd", "3", "--count", "600000", "--size", "1500", "--dst", "02:00:00:00:0a:01", "--src", mac], [vmEnd]),
    spawn([TRAFFIC, "sink", "--fd", "3", "--idle-ms", "3000"], [vmEnd]),
    spawn([TRAFFIC, "gen", "--packet", "vl-j", "--count", "600000", "--size", "1500", "--dst", mac, "--src", "02:00:00:00:0a:01"]),
  ];
  await Bun.sleep(4000);
  for (const g of gens) g.kill("SIGKILL");
  h.kill("SIGTERM");
  expect(await h.exited()).toBe(0);
  for (const fd of [vmEnd, helperEnd]) libc().close(fd);
  // One record per "Optimized …": compiler threads may print two records with no newline between.
  const compiles = h.err.join("\n").split(/(?=Optimized )/).filter((l) => l.startsWith("Optimized "));
  expect(compiles.some((l) => l.includes("using DFG"))).toBe(true);
  // "Optimized sumBytes#AbCdEf:[…] using FTLMode with FTL into …": the name before the hash.
  const allowed = new Set([...FTL_ALLOWED].map((f) => f.name));
  const ftl = compiles.filter((l) => l.includes("using FTL"));
  expect(ftl.filter((l) => !allowed.has(l.slice("Optimized ".length).split("#")[0]!))).toEqual([]);
  // Only offload runs the checksum: a plain helper compiles nothing with FTL at all.
  if (flags.length === 0) expect(ftl).toEqual([]);
}, 30_000);
