/**
 * The README's quick start, as a new user runs it: `npm start` is scripts/start.ts. Its installs
 * need the package mirror, which a test namespace cannot reach, and npm test has done them (and the
 * build) already, so this runs the remaining steps (`vmlan system start`, `vmlan demo`) through the
 * same script, in a namespace and a state dir of the test's own, and reads the output a user reads.
 * Also: the one line for a machine without root or without /dev/net/tun, and `vmlan doctor`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan, vmlanBin } from "../../support/binary.ts";
import { BUN, createNetns, type Netns } from "../../support/netns.ts";
import { BOOT_TIMEOUT_MS, ensureGuestImage, IMAGE_BUILD_TIMEOUT_MS, IMAGE_CACHE, qemuPids } from "../../support/vm.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const START = join(ROOT, "scripts", "start.ts");
let ns: Netns;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-quickstart-"));
const env = { VMLAN_STATE_DIR: stateDir, VMLAN_IMAGE_CACHE: IMAGE_CACHE };

beforeAll(async () => {
  await ensureGuestImage();
  ns = createNetns();
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (ns) await runVmlan(["system", "stop"], { env, netns: ns.name });
  ns?.delete();
  rmSync(stateDir, { recursive: true, force: true });
});

/** stdout and stderr interleaved as a terminal shows them, and the exit status. */
async function start(prefix: string[], args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; lines: string[] }> {
  const proc = Bun.spawn(["sh", "-c", 'exec "$@" 2>&1', "sh", ...prefix, BUN, START, ...args], {
    cwd: ROOT, env: { ...process.env, ...extraEnv, VMLAN_BIN: vmlanBin() }, stdin: "ignore", stdout: "pipe",
  });
  const text = await new Response(proc.stdout).text();
  return { code: await proc.exited, lines: text.replace(/\n$/, "").split("\n") };
}

// The whole output of npm start after its installs and build, line by line: nothing else may appear
// (no "vmlan helper: stopping: ..." from the helpers the demo stops, no note twice).
const EXPECTED: [string, RegExp][] = [
  ["network", /^default: up$/],
  ["services", /^services: started \(pid \d+, log .*services\.log\)$/],
  ["start", /^starting two guests on "default"$/],
  ["accelerator note (TCG only, once)", /^note: .*(using TCG|KVM).*$/],
  ["up", /^demo-a 192\.168\.64\.2 and demo-b 192\.168\.64\.3 are up; measuring$/],
  ["blank", /^$/],
  ["table header", /^GUEST\s+ADDRESS\s+MAC\s+BOOT$/],
  ["guest a", /^demo-a\s+192\.168\.64\.2\s+([0-9a-f]{2}:){5}[0-9a-f]{2}\s+\d+\.\d s$/],
  ["guest b", /^demo-b\s+192\.168\.64\.3\s+([0-9a-f]{2}:){5}[0-9a-f]{2}\s+\d+\.\d s$/],
  ["blank", /^$/],
  ["summary", /^network default, accelerator (tcg|kvm), attachment helper$/],
  ["ping guest", /^ping demo-b -> demo-a:\s+(\d+\.\d+) ms average round trip$/],
  ["ping host", /^ping demo-b -> host:\s+(\d+\.\d+) ms average round trip$/],
  ["tcp guest", /^TCP demo-b -> demo-a:\s+(\d+(\.\d+)?) Mbit\/s \(4 MiB, busybox nc\)$/],
  ["tcp host", /^TCP demo-b -> host:\s+(\d+(\.\d+)?) Mbit\/s \(4 MiB\)$/],
  ["done", /^guests stopped, leases released$/],
];

test("npm start after its installs: system start and the demo, and nothing but their lines; nothing left behind", async () => {
  const r = await start(["ip", "netns", "exec", ns.name], ["--skip-install", "--skip-build", "--", "--mb", "4"], env);
  if (r.code !== 0) throw new Error(`npm start's steps failed (${r.code}):\n${r.lines.join("\n")}`);
  console.log(r.lines.filter((l) => /ms average|Mbit|\d s$/.test(l)).join("\n"));
  const lines = [...r.lines];
  for (const [what, re] of EXPECTED) {
    if (what.startsWith("accelerator") && !re.test(lines[0] ?? "")) continue; // KVM: no note
    expect({ what, line: lines.shift() }).toEqual({ what, line: expect.stringMatching(re) });
  }
  expect(lines).toEqual([]);
  for (const [what, re] of EXPECTED.filter(([w]) => /^(ping|tcp)/.test(w))) {
    expect({ what, value: Number(r.lines.find((l) => re.test(l))!.match(re)![1]) }).toEqual({ what, value: expect.any(Number) });
    expect(Number(r.lines.find((l) => re.test(l))!.match(re)![1])).toBeGreaterThan(0);
  }
  const list = await runVmlan(["vm", "list", "--format", "json"], { env, netns: ns.name });
  expect(JSON.parse(list.stdout)).toEqual([]);
  const active = await runVmlan(["attachments", "--format", "json"], { env, netns: ns.name });
  expect(JSON.parse(active.stdout)).toEqual([]);
  expect(ns.ipJson(["link", "show", "type", "tun"])).toEqual([]);
  expect(qemuPids("demo-")).toEqual([]);
}, 3 * BOOT_TIMEOUT_MS);

test("npm start without root: one line saying what is missing and what to run instead, nothing done", async () => {
  const r = await start(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"], []);
  expect(r).toEqual({ code: 1, lines: [expect.stringMatching(/^error: npm start needs root .*run `sudo npm start`; `npm run build -- --host` only builds dist\/vmlan$/)] });
});

test("npm start without /dev/net/tun (hidden in a mount namespace of its own): one line, nothing done", async () => {
  const r = await start(["unshare", "--mount", "sh", "-c", 'mount -t tmpfs vmlan-no-tun /dev/net && exec "$@"', "sh"], []);
  expect(r).toEqual({ code: 1, lines: [expect.stringMatching(/^error: npm start needs \/dev\/net\/tun .*modprobe tun.*--device \/dev\/net\/tun.*only builds dist\/vmlan$/)] });
});

test("vmlan doctor: one line per check with a fix; KVM under kvm_pvm is reported as unusable", async () => {
  const r = await runVmlan(["doctor", "--format", "json"], { env, netns: ns.name });
  const d = JSON.parse(r.stdout) as { ok: boolean; checks: { check: string; status: string; detail: string; fix?: string }[] };
  expect(r.exitCode).toBe(d.ok ? 0 : 6);
  expect(d.checks.map((c) => c.check)).toEqual(["privileges", "tun", "kvm", "nftables", "qemu", "guest-image", "services", "leftovers"]);
  for (const c of d.checks) if (c.status !== "ok") expect(c.fix).toBeTruthy();
  const kvm = d.checks.find((c) => c.check === "kvm")!;
  if (existsSync("/sys/module/kvm_pvm")) expect(kvm).toMatchObject({ status: "warn", detail: expect.stringContaining("kvm_pvm") });
  expect(d.checks.find((c) => c.check === "qemu")!.status).toBe("ok");
  const table = await runVmlan(["doctor"], { env, netns: ns.name });
  expect(table.stdout.split("\n")[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL\s+FIX$/);
});
