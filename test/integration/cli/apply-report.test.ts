// `apply` of a file with 200,000 bad entries: the report is capped (the first problems and a
// count, in table and JSON form) and memory stays bounded. --dry-run on an empty state dir: no
// network object is made, so no namespace is needed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vmlanBin } from "../../support/binary.ts";

const ENTRIES = 200_000;
const SHOWN = 20;
const dir = mkdtempSync(join(tmpdir(), "vmlan-applyreport-"));
const file = join(dir, "bad.json");

beforeAll(() => {
  const nets = Array.from({ length: ENTRIES }, (_, i) => ({ name: `bad name ${i}`, subnet: "10.0.0.0/33", colour: i }));
  writeFileSync(file, JSON.stringify({ networks: nets }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The child's own peak RSS (VmHWM), sampled every 10 ms until it exits. Not resourceUsage().maxRSS:
 * the child starts as a vfork of this test runner, and Linux carries the runner's RSS into the
 * child's ru_maxrss (several hundred MB after a full suite).
 */
async function peakRssMb(pid: number, exited: Promise<unknown>): Promise<number> {
  let peak = 0;
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    try {
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
      peak = Math.max(peak, kb / 1024);
    } catch {}
    await Bun.sleep(10);
  }
  return peak;
}

async function apply(...extra: string[]) {
  const p = Bun.spawn([vmlanBin(), "apply", "-f", file, "--dry-run", ...extra], { env: { ...process.env, VMLAN_STATE_DIR: join(dir, "state") }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode, maxRssMb] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited, peakRssMb(p.pid, p.exited)]);
  return { stdout, stderr, exitCode, maxRssMb };
}

describe("apply with 200,000 bad entries", () => {
  test("the report shows the first 20 problems and counts the rest; memory stays bounded", async () => {
    const r = await apply();
    expect(r.exitCode).toBe(2);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(`error: ${file}: ${ENTRIES * 3} problems; nothing was changed`);
    expect(lines.slice(1, 4)).toEqual([
      `  networks[0].name: invalid network name "bad name 0": use 1-64 letters, digits, '_', '.', '-', starting with a letter or digit`,
      `  networks[0].subnet: invalid subnet "10.0.0.0/33": prefix length 33 is over 32`,
      `  networks[0].colour: unknown key "colour"`,
    ]);
    expect(lines).toHaveLength(1 + SHOWN + 1);
    expect(lines.at(-1)).toBe(`  ... and ${ENTRIES * 3 - SHOWN} more`);
    expect(r.stderr.length).toBeLessThan(8 * 1024);
    // Before: 54 MB printed, 838 MB resident; after: 2 KB, about 185 MB (the parsed file alone is about 70 MB).
    expect(r.maxRssMb).toBeGreaterThan(50); // the sampling saw the process
    expect(r.maxRssMb).toBeLessThan(400);
  }, 60_000);

  test("--format json carries the same first problems and the total", async () => {
    const r = await apply("--format", "json");
    expect(r.exitCode).toBe(2);
    const err = JSON.parse(r.stderr).error;
    expect(err.code).toBe("EAPPLYFILE");
    expect(err.details.total).toBe(ENTRIES * 3);
    expect(err.details.problems).toHaveLength(SHOWN);
    expect(err.details.problems[0]).toEqual({ path: "networks[0].name", message: expect.stringContaining(`"bad name 0"`) });
  }, 60_000);
});
