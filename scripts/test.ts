/**
 * `npm test`: host prerequisites, build, `bun test`, then one closing line for CI:
 *   N passed, N failed[, N skipped]
 * That line is always the last thing printed. Exit non-zero on any failure, or when no test ran.
 *
 *   bun scripts/test.ts [--skip-build] [bun test filters...]
 *
 * CI=true also builds all four targets, so test/scripts/build.test.ts checks the darwin binaries.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureCommands, type Requirement } from "../src/platform/linux/apt.ts";
import { VmlanError } from "../src/core/errors.ts";

/** Host commands the tests need, and the Debian package that brings each one (installed by src/platform/linux/apt.ts). */
// `command` is looked up on PATH, or, when it starts with "/", checked as a file (headers).
export const PREREQUISITES: Requirement[] = [
  { command: "ip", debianPackage: "iproute2", why: "network namespaces, links" },
  { command: "nft", debianPackage: "nftables", why: "NAT rules" },
  { command: "ping", debianPackage: "iputils-ping", why: "reachability checks in namespaces" },
  { command: "gcc", debianPackage: "gcc", why: "struct layout test (test/ffi)" },
  { command: "/usr/include/stdio.h", debianPackage: "libc6-dev", why: "C headers for the layout test" },
  { command: "/usr/include/linux/if_tun.h", debianPackage: "linux-libc-dev", why: "TUN/TAP header for the layout test" },
  { command: "clang", debianPackage: "clang", why: "builds the vmnet double and trampolines (C with blocks; test/doubles)" },
  { command: "/usr/include/Block.h", debianPackage: "libblocksruntime-dev", why: "blocks runtime for the vmnet double" },
  { command: "busybox", debianPackage: "busybox", why: "udhcpc, a real DHCP client (test/integration/services); httpd and nc (test/integration/ports)" },
  { command: "curl", debianPackage: "curl", why: "HTTP client through published ports (test/integration/ports)" },
  { command: "dig", debianPackage: "bind9-dnsutils", why: "DNS queries against the gateways (test/integration/services)" },
  { command: "dhcpcd", debianPackage: "dhcpcd-base", why: "a DHCP client that ARP-probes its lease and DECLINEs a taken one (test/integration/services)" },
  { command: "dnsmasq", debianPackage: "dnsmasq-base", why: "a real DHCP relay (--dhcp-relay) in front of vmlan's server (test/integration/services)" },
  // Real guests (test/integration/vm): QEMU under TCG, about 3-5 s per boot; the guest image is
  // built by the tests themselves from Debian packages (apt-get download + dpkg -x) into .cache/.
  { command: "qemu-system-x86_64", debianPackage: "qemu-system-x86", why: "real Linux guests (test/integration/vm)" },
  { command: "pgrep", debianPackage: "procps", why: "checks that no QEMU or helper process is left behind" },
  // Release artifacts (test/scripts/man.test.ts, release-*.test.ts): man pages, the Homebrew formula, the .deb.
  { command: "man", debianPackage: "man-db", why: "renders the generated man pages (man -l), warnings fail the test" },
  { command: "groff", debianPackage: "groff-base", why: "the formatter man -l uses" },
  { command: "ruby", debianPackage: "ruby", why: "ruby -c and the test block of the rendered Homebrew formula" },
  { command: "lintian", debianPackage: "lintian", why: "checks the .deb that bun run release makes" },
  // The CNI plugin against real clients (test/integration/cni): the reference plugins, podman's CNI backend.
  { command: "/usr/lib/cni/bridge", debianPackage: "containernetworking-plugins", why: "reference bridge/macvlan plugins with vmlan as IPAM (test/integration/cni)" },
  { command: "podman", debianPackage: "podman", why: "a real container runtime on a vmlan network (test/integration/cni)" },
  { command: "runc", debianPackage: "runc", why: "podman's OCI runtime here (crun refuses this machine's hybrid cgroups)" },
];

const ROOT = join(import.meta.dir, "..");

class Failed extends Error {}

/** Resolves once the bytes are handed to the OS, so the closing line cannot overtake bun's output. */
function write(stream: NodeJS.WriteStream, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => stream.write(data, (err) => (err ? reject(err) : resolve())));
}

function sh(cmd: string[], env: Record<string, string | undefined> = process.env): number {
  return Bun.spawnSync(cmd, { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] }).exitCode ?? 1;
}

function ensurePrerequisites(): void {
  if (process.platform !== "linux") return; // the namespace tests are Linux-only
  // apt-get's own output stays visible here: CI logs are where a failed install is read.
  ensureCommands(PREREQUISITES, { log: (line) => console.log(line), verbose: true });
}

function buildBinaries(): void {
  const args = process.env.CI === "true" ? ["--target", "all"] : ["--host"];
  console.log(`$ bun scripts/build.ts ${args.join(" ")}`);
  if (sh([process.execPath, join(ROOT, "scripts", "build.ts"), ...args]) !== 0) throw new Failed("build failed");
}

export type Counts = { tests: number; failed: number; skipped: number };

/** Counts <testcase> elements in bun's JUnit XML; a case with <failure> or <error> failed. */
export function countJunit(xml: string): Counts {
  const counts: Counts = { tests: 0, failed: 0, skipped: 0 };
  // A testcase is either self-closing or has a body up to </testcase>; bodies never nest.
  for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    counts.tests++;
    const body = m[2] ?? "";
    if (/<(failure|error)\b/.test(body)) counts.failed++;
    else if (/<skipped\b/.test(body)) counts.skipped++;
  }
  return counts;
}

/** bun's own " N fail" summary line, which also counts errors outside any test (not in the XML). */
export function consoleFailCount(text: string): number {
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  const m = plain.match(/^\s*(\d+) fail\s*$/m);
  return m ? Number(m[1]) : 0;
}

/** Runs bun test, streaming its output while keeping a copy of stderr for the summary. */
async function runBunTest(filters: string[], junitFile: string): Promise<{ exitCode: number; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, VMLAN_BIN: join(ROOT, "dist", "vmlan") };
  if (process.stderr.isTTY) env.FORCE_COLOR = "1"; // stderr is piped through us; keep colours for people
  // 60 s per test and hook: namespace, clang and QEMU set-ups are slow on 2 busy cores (bunfig's
  // [test] timeout is not applied by bun 1.4.5, measured).
  const cmd = [process.execPath, "test", "--timeout=60000", "--reporter=junit", `--reporter-outfile=${junitFile}`];
  // Integration tests build bridges in namespaces of their own: that needs root on Linux. Elsewhere
  // (a developer's Mac, a non-root shell) they are left out, and said so; on CI (root, Linux) all run.
  if (process.platform !== "linux" || process.getuid?.() !== 0) {
    console.log("NOTE: not root on Linux: skipping test/integration/ (namespaces need root); CI runs them all");
    if (process.env.CI === "true") throw new Failed("CI must run as root on Linux");
    cmd.push("--path-ignore-patterns=test/integration/**");
  }
  // With no filters, only test/ (not dist/ or .cache/); bun treats "./"-prefixed arguments as paths.
  const proc = Bun.spawn([...cmd, ...(filters.length ? filters : ["./test/"])], {
    cwd: ROOT, env, stdin: "ignore", stdout: "inherit", stderr: "pipe",
  });
  let stderr = "";
  const decoder = new TextDecoder();
  for await (const chunk of proc.stderr) {
    await write(process.stderr, chunk);
    stderr += decoder.decode(chunk, { stream: true });
  }
  return { exitCode: await proc.exited, stderr };
}

async function main(argv: string[]): Promise<number> {
  const skipBuild = argv.includes("--skip-build");
  const filters = argv.filter((a) => a !== "--skip-build");
  ensurePrerequisites();
  if (!skipBuild) buildBinaries();

  const dir = mkdtempSync(join(tmpdir(), "vmlan-junit-"));
  try {
    const junitFile = join(dir, "junit.xml");
    const { exitCode, stderr } = await runBunTest(filters, junitFile);
    const xml = (await Bun.file(junitFile).exists()) ? await Bun.file(junitFile).text() : "";
    const counts = countJunit(xml);
    const failed = Math.max(counts.failed, consoleFailCount(stderr));
    const passed = counts.tests - counts.failed - counts.skipped;
    let code = 0;
    if (exitCode !== 0) {
      code = 1;
      if (failed === 0) console.log(`bun test exited ${exitCode} without a failed test (see its output above)`);
    }
    if (failed > 0) code = 1;
    if (counts.tests === 0) {
      console.log("no test ran");
      code = 1;
    }
    await write(process.stdout, `${passed} passed, ${failed} failed${counts.skipped > 0 ? `, ${counts.skipped} skipped` : ""}\n`);
    return code;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof Failed || e instanceof VmlanError ? `error: ${e.message}` : e);
    // The closing line CI reads, even when we never got to run a test.
    await write(process.stdout, "0 passed, 1 failed\n");
    process.exitCode = 1;
  }
}
