/**
 * The guest image: Debian's cloud kernel + a busybox initramfs whose /init is src/vm/guest-init.ts.
 * Cached in <images>/<hash of inputs>/{vmlinuz,initrd.img,inputs.json}; a new kernel or busybox
 * version in Debian, or a changed /init, gives a new hash and so a rebuild.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HostError, UsageError } from "../core/errors.ts";
import { stateDir } from "../core/store/paths.ts";
import { cpioNewc, type CpioEntry } from "./cpio.ts";
import { download, extract, resolveKernel, resolvePackage, type DebPackage } from "./debian.ts";
import { GUEST_INIT, VIRTIO_NET_MODULES } from "./guest-init.ts";

/** Bump when the layout of the image changes in a way the inputs below do not capture. */
const FORMAT = 1;
const KERNEL_META = "linux-image-cloud-amd64";
const BUSYBOX = "busybox-static";

export interface GuestImage { dir: string; kernel: string; initrd: string; kernelVersion: string; built: boolean }
type Inputs = { format: number; kernel: DebPackage; busybox: DebPackage; init: string; modules: string[] };

/** $VMLAN_IMAGE_CACHE (tests share one across state dirs), else <state dir>/images. */
export function imageCacheDir(env: Record<string, string | undefined> = process.env): string {
  return env.VMLAN_IMAGE_CACHE || join(stateDir(env), "images");
}

const hashOf = (i: Inputs) => createHash("sha256").update(JSON.stringify(i)).digest("hex").slice(0, 16);

function complete(dir: string): GuestImage | null {
  try {
    const inputs = JSON.parse(readFileSync(join(dir, "inputs.json"), "utf8")) as Inputs & { kernelVersion: string };
    const kernel = join(dir, "vmlinuz");
    const initrd = join(dir, "initrd.img");
    if (!existsSync(kernel) || !existsSync(initrd)) return null;
    return { dir, kernel, initrd, kernelVersion: inputs.kernelVersion, built: false };
  } catch {
    return null;
  }
}

/** The newest complete image in the cache, for when the package lists cannot be read (offline). */
function newestCached(cache: string): GuestImage | null {
  if (!existsSync(cache)) return null;
  const dirs = readdirSync(cache).filter((d) => !d.startsWith(".")).map((d) => join(cache, d));
  dirs.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const d of dirs) {
    const img = complete(d);
    if (img) return img;
  }
  return null;
}

/** Returns the cached image for the current inputs, building it first when it is missing or `rebuild`. */
export function ensureGuestImage(opts: { cache?: string; rebuild?: boolean; log?: (msg: string) => void } = {}): GuestImage {
  if (process.arch !== "x64") throw new UsageError(`the built-in guest image is x86-64 only; on ${process.arch} pass --kernel and --initrd`);
  const cache = opts.cache ?? imageCacheDir();
  let inputs: Inputs;
  try {
    inputs = { format: FORMAT, kernel: resolveKernel(KERNEL_META), busybox: resolvePackage(BUSYBOX), init: GUEST_INIT, modules: VIRTIO_NET_MODULES };
  } catch (e) {
    const cached = opts.rebuild ? null : newestCached(cache);
    if (cached) return cached;
    throw e;
  }
  const dir = join(cache, hashOf(inputs));
  if (!opts.rebuild) {
    const img = complete(dir);
    if (img) return img;
  }
  return build(inputs, cache, dir, opts.log ?? (() => {}));
}

function build(inputs: Inputs, cache: string, dir: string, log: (msg: string) => void): GuestImage {
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, ".build-"));
  try {
    log(`building the guest image from Debian packages: ${inputs.kernel.name} ${inputs.kernel.version}, ${inputs.busybox.name} ${inputs.busybox.version}`);
    const root = join(work, "root");
    for (const pkg of [inputs.kernel, inputs.busybox]) extract(download(pkg, work), root);
    const kernelVersion = inputs.kernel.name.replace(/^linux-image-/, "");
    const vmlinuz = join(root, "boot", `vmlinuz-${kernelVersion}`);
    if (!existsSync(vmlinuz)) throw new HostError(`${inputs.kernel.name} has no /boot/vmlinuz-${kernelVersion}`);
    const initrd = Bun.gzipSync(cpioNewc(initramfsEntries(root, kernelVersion, inputs.modules)), { level: 9 });
    const out = join(work, "out");
    mkdirSync(out);
    writeFileSync(join(out, "vmlinuz"), readFileSync(vmlinuz));
    writeFileSync(join(out, "initrd.img"), initrd);
    writeFileSync(join(out, "inputs.json"), JSON.stringify({ ...inputs, kernelVersion }, null, 2));
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(out, dir); // atomic: a concurrent build of the same inputs wins or loses whole
    } catch (e) {
      if (!complete(dir)) throw e;
    }
    log(`guest image ready: ${dir} (initrd ${(initrd.length / 1e6).toFixed(1)} MB)`);
    return { ...complete(dir)!, built: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Finds `<name>.ko` anywhere under the kernel's module tree (no modules.dep is shipped to the guest). */
function findModules(modRoot: string, names: string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const rel of new Bun.Glob("**/*.ko").scanSync({ cwd: modRoot })) {
    const base = rel.split("/").pop()!.slice(0, -3);
    if (names.includes(base)) found.set(base, join(modRoot, rel));
  }
  return found;
}

function initramfsEntries(root: string, kernelVersion: string, modules: string[]): CpioEntry[] {
  const busybox = join(root, "bin", "busybox");
  if (!existsSync(busybox)) throw new HostError(`busybox-static did not unpack ${busybox}`);
  const entries: CpioEntry[] = ["bin", "sbin", "dev", "proc", "sys", "tmp", "etc", "lib", "lib/modules"].map((path) => ({ path, type: "dir" }));
  entries.push({ path: "dev/console", type: "char", major: 5, minor: 1 });
  entries.push({ path: "bin/busybox", type: "file", data: readFileSync(busybox), mode: 0o755 });
  entries.push({ path: "bin/sh", type: "symlink", target: "busybox" });
  entries.push({ path: "init", type: "file", data: new TextEncoder().encode(GUEST_INIT), mode: 0o755 });
  const modRoot = join(root, "lib", "modules", kernelVersion, "kernel");
  const found = existsSync(modRoot) ? findModules(modRoot, modules) : new Map<string, string>();
  // A module missing here is built into the kernel (or the kernel has no virtio-net): /init skips it.
  for (const m of modules) {
    const p = found.get(m);
    if (p) entries.push({ path: `lib/modules/${m}.ko`, type: "file", data: readFileSync(p) });
  }
  return entries;
}
