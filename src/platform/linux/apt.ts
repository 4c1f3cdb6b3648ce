/**
 * The one installer of host tools, on Debian and Ubuntu: `npm start` (scripts/start.ts), `npm test`
 * (scripts/test.ts) and `vmlan demo`/`vm run` (QEMU, qemu.ts) all go through `ensureCommands`.
 * It installs only what is missing, says so in one line, and, when it cannot install (not root, no
 * apt-get), throws with the exact command to run instead.
 */
import { existsSync } from "node:fs";
import { HostError } from "../../core/errors.ts";

/** A command a job needs and the Debian package that brings it. */
export interface Requirement {
  /** Looked up on PATH (plus the sbin folders), or checked as a file when it starts with "/" (headers). */
  command: string;
  debianPackage: string;
  why: string;
}

/** ip and nft live in /usr/sbin, which a non-root PATH often lacks. */
export const SEARCH_PATH = `${process.env.PATH ?? ""}:/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/usr/local/bin`;

export function isPresent(r: Requirement): boolean {
  return r.command.startsWith("/") ? existsSync(r.command) : Bun.which(r.command, { PATH: SEARCH_PATH }) !== null;
}

export function missingOf(requirements: Requirement[]): Requirement[] {
  return requirements.filter((r) => !isPresent(r));
}

/** Another apt run (a second checkout's tests, unattended upgrades) may hold dpkg's lock: wait for it. */
const LOCK_WAIT = ["-o", "DPkg::Lock::Timeout=600"];

export function installCommand(packages: string[]): string[] {
  return ["apt-get", "install", "-y", "-q", ...LOCK_WAIT, "--no-install-recommends", ...packages];
}

export interface EnsureOptions {
  /** Gets the one line saying what is installed (and nothing else unless `verbose`). */
  log: (line: string) => void;
  /** apt-get's own output on this process's stdout/stderr (npm test on CI); otherwise kept quiet. */
  verbose?: boolean;
}

/**
 * Installs the Debian packages of every missing requirement. Returns the packages it installed
 * (none when nothing was missing). Tries the install first and refreshes the package lists only
 * when that fails: a machine whose lists are fresh saves the update, a bare one gets it.
 */
export function ensureCommands(requirements: Requirement[], o: EnsureOptions): string[] {
  const missing = missingOf(requirements);
  if (missing.length === 0) return [];
  const packages = [...new Set(missing.map((r) => r.debianPackage))];
  const what = missing.map((r) => `${r.command} (${r.why})`).join(", ");
  if (process.getuid?.() !== 0 || !Bun.which("apt-get", { PATH: SEARCH_PATH })) {
    throw new HostError(`missing ${what}; install with: sudo apt-get update && sudo ${installCommand(packages).join(" ")}`, {
      code: "EMISSING", details: { packages },
    });
  }
  o.log(`installing ${packages.join(", ")} with apt-get (missing: ${missing.map((r) => r.command).join(", ")})`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const apt = (args: string[]) => Bun.spawnSync(args, {
    env, stdin: "ignore", stdout: o.verbose ? "inherit" : "ignore", stderr: o.verbose ? "inherit" : "pipe",
  });
  let r = apt(installCommand(packages));
  if (r.exitCode !== 0) {
    if (o.verbose) o.log("apt-get install failed; refreshing the package lists (apt-get update) and retrying");
    apt(["apt-get", "update", "-q", ...LOCK_WAIT]);
    r = apt(installCommand(packages));
  }
  if (r.exitCode !== 0) {
    const last = o.verbose ? "" : `: ${(r.stderr?.toString() ?? "").trim().split("\n").pop()}`;
    throw new HostError(`${installCommand(packages).join(" ")} failed${last}`, { code: "EINSTALL", details: { packages } });
  }
  const still = missingOf(missing);
  if (still.length) throw new HostError(`installed ${packages.join(", ")} but still missing ${still.map((s) => s.command).join(", ")}`, { code: "EINSTALL" });
  return packages;
}
