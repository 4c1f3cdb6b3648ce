/**
 * The guest image's only source: Debian's package registry, through the ordinary clients
 * (apt-cache, apt-get download, dpkg -x). Nothing is installed on the host.
 */
import { HostError } from "../core/errors.ts";

export interface DebPackage { name: string; version: string }

type Run = { code: number; stdout: string; stderr: string };

function run(argv: string[], cwd?: string): Run {
  let r;
  try {
    r = Bun.spawnSync(argv, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  } catch (e) {
    throw new HostError(`${argv[0]} is not available (${(e as Error).message}); the guest image is built from Debian packages with apt-get and dpkg`);
  }
  return { code: r.exitCode ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** The candidate version of a package and its Depends line, from `apt-cache show --no-all-versions`. */
function show(name: string): { version: string; depends: string } | null {
  const r = run(["apt-cache", "show", "--no-all-versions", name]);
  if (r.code !== 0 || !r.stdout.trim()) return null;
  const field = (f: string) => r.stdout.match(new RegExp(`^${f}: (.*)$`, "m"))?.[1]?.trim() ?? "";
  return { version: field("Version"), depends: field("Depends") };
}

let updated = false;

/** Looks a package up; on a machine whose package lists are empty, runs `apt-get update` once (root only). */
export function candidate(name: string): { version: string; depends: string } {
  let s = show(name);
  if (!s && !updated && process.getuid?.() === 0) {
    updated = true;
    const u = run(["apt-get", "update", "-q"]);
    if (u.code !== 0) throw new HostError(`apt-get update failed: ${u.stderr.trim().split("\n").pop()}`);
    s = show(name);
  }
  if (!s) throw new HostError(`Debian package "${name}" not found by apt-cache; run \`apt-get update\` (the guest image is built from Debian packages)`);
  return s;
}

/** linux-image-cloud-amd64 is a metapackage: the real kernel package is its first dependency. */
export function resolveKernel(meta: string): DebPackage {
  const dep = candidate(meta).depends.split(",")[0]?.trim() ?? "";
  const m = dep.match(/^(linux-image-\S+)\s*\(=\s*([^)]+)\)/);
  if (!m) throw new HostError(`cannot tell the kernel package from ${meta}'s Depends: "${dep}"`);
  return { name: m[1]!, version: m[2]!.trim() };
}

export function resolvePackage(name: string): DebPackage {
  return { name, version: candidate(name).version };
}

/** `apt-get download name=version` into dir; returns the .deb path. */
export function download(pkg: DebPackage, dir: string): string {
  const r = run(["apt-get", "download", "-q", `${pkg.name}=${pkg.version}`], dir);
  if (r.code !== 0) throw new HostError(`apt-get download ${pkg.name}=${pkg.version} failed: ${r.stderr.trim().split("\n").pop()}`);
  const glob = new Bun.Glob(`${pkg.name}_*.deb`);
  const deb = [...glob.scanSync({ cwd: dir })][0];
  if (!deb) throw new HostError(`apt-get download ${pkg.name} left no .deb in ${dir}`);
  return `${dir}/${deb}`;
}

/** `dpkg -x deb dir`: unpacks the files without installing anything. */
export function extract(deb: string, dir: string): void {
  const r = run(["dpkg", "-x", deb, dir]);
  if (r.code !== 0) throw new HostError(`dpkg -x ${deb} failed: ${r.stderr.trim()}`);
}
