/**
 * Real QEMU guests for tests: the compiled binary's `vmlan vm run` inside a test namespace, with
 * the guest's serial console on the process's stdin/stdout (src/vm/console.ts types commands in).
 * The guest image is built once per machine into .cache/vmlan-images, from the root namespace:
 * building only downloads Debian packages and writes files, it creates no network object, and a
 * fresh test namespace has no way to the package mirror.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GuestConsole } from "../../src/vm/console.ts";
import { runVmlan, vmlanBin } from "./binary.ts";
import type { Netns } from "./netns.ts";

export const IMAGE_CACHE = join(import.meta.dir, "..", "..", ".cache", "vmlan-images");
/** First build downloads about 28 MB and unpacks the kernel (10 s here); a cached one is instant. */
export const IMAGE_BUILD_TIMEOUT_MS = 300_000;
/** TCG boots a guest in 3-5 s alone, about 10 s with three booting at once on 2 cores (measured). */
export const BOOT_TIMEOUT_MS = 90_000;

export async function ensureGuestImage(): Promise<void> {
  const state = mkdtempSync(join(tmpdir(), "vmlan-image-"));
  try {
    const r = await runVmlan(["vm", "image", "build"], { env: { VMLAN_STATE_DIR: state, VMLAN_IMAGE_CACHE: IMAGE_CACHE }, timeoutMs: IMAGE_BUILD_TIMEOUT_MS });
    if (r.exitCode !== 0) throw new Error(`vmlan vm image build failed (${r.exitCode}): ${r.stderr}`);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

/** The newest built guest image in the cache (for tests that start QEMU themselves), or null. */
export function findGuestImage(): { kernel: string; initrd: string } | null {
  if (!existsSync(IMAGE_CACHE)) return null;
  const dirs = readdirSync(IMAGE_CACHE).filter((d) => !d.startsWith(".")).map((d) => join(IMAGE_CACHE, d))
    .filter((d) => existsSync(join(d, "vmlinuz")) && existsSync(join(d, "initrd.img")))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return dirs[0] ? { kernel: join(dirs[0], "vmlinuz"), initrd: join(dirs[0], "initrd.img") } : null;
}

export interface VmInfo {
  name: string;
  address: string;
  mac: string;
  tap: string;
  attachment: "native" | "helper";
  pid?: number;
  nics: { network: string; mac: string; address: string; gateway: string; ifname: string }[];
}

/** A foreground `vmlan vm run` whose console the test drives. */
export class ConsoleVm {
  readonly console: GuestConsole;
  info!: VmInfo;
  addresses: string[] = [];
  readonly #proc: ReturnType<typeof Bun.spawn>;

  constructor(ns: Netns, env: Record<string, string>, args: string[]) {
    this.#proc = Bun.spawn(["ip", "netns", "exec", ns.name, vmlanBin(), "vm", "run", "--format", "json", "--console", "-", ...args], {
      env: { ...process.env, ...env, VMLAN_IMAGE_CACHE: IMAGE_CACHE }, stdin: "pipe", stdout: "pipe", stderr: "pipe",
    });
    const stdin = this.#proc.stdin as import("bun").FileSink;
    this.console = new GuestConsole({ stdout: this.#proc.stdout as ReadableStream<Uint8Array>, stdin });
  }

  async ready(): Promise<this> {
    try {
      const { match } = await this.console.waitFor(/^(\{.*\})$/, BOOT_TIMEOUT_MS);
      this.info = JSON.parse(match[1]!) as VmInfo;
      this.addresses = await this.console.ready(BOOT_TIMEOUT_MS);
    } catch (e) {
      const err = await Promise.race([new Response(this.#proc.stderr as ReadableStream).text(), Bun.sleep(500).then(() => "")]);
      throw new Error(`${(e as Error).message}; vmlan stderr: ${err.trim()}`);
    }
    return this;
  }

  /** Runs a command in the guest. */
  sh(cmd: string, timeoutMs = 30_000) {
    return this.console.run(cmd, timeoutMs);
  }

  /** SIGTERM to `vmlan vm run`, which stops QEMU and releases the leases; resolves with its exit code. */
  async stop(): Promise<number> {
    if (this.#proc.exitCode === null) this.#proc.kill("SIGTERM");
    return this.#proc.exited;
  }
}

export function startConsoleVm(ns: Netns, env: Record<string, string>, args: string[]): Promise<ConsoleVm> {
  return new ConsoleVm(ns, env, args).ready();
}

/** Pids of QEMU processes whose -name starts with vmlan-<prefix>. */
export function qemuPids(prefix: string): number[] {
  const r = Bun.spawnSync(["pgrep", "-f", `qemu-system-x86_64 -name vmlan-${prefix}`], { stdout: "pipe" });
  return r.stdout.toString().trim().split("\n").filter(Boolean).map(Number);
}

/** Pids of `vmlan helper` processes serving VMs whose names start with <prefix>. */
export function helperPids(prefix: string): number[] {
  const r = Bun.spawnSync(["pgrep", "-f", `helper --fd 3 --network \\S+ --id ${prefix}`], { stdout: "pipe" });
  return r.stdout.toString().trim().split("\n").filter(Boolean).map(Number);
}
