/**
 * `vmlan compat install|uninstall`: symbolic links named after the peers' programs (programs.ts),
 * where the peers' own installers put them and their users' tools look, or in PREFIX/bin. A file
 * that is not a link to vmlan is never replaced or removed: it may be the real program.
 */
import { lstatSync, mkdirSync, readdirSync, readlinkSync, rmdirSync, statSync, symlinkSync, unlinkSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ConflictError, VmlanError } from "../../core/errors.ts";
import { PROGRAMS } from "./programs.ts";

/** kept: uninstall found a file that is not a link to vmlan there and left it. */
export type LinkOutcome = "created" | "unchanged" | "updated" | "removed" | "absent" | "kept";
export interface LinkResult { name: string; path: string; ok: boolean; outcome?: LinkOutcome; error?: VmlanError }

/** Where each program's link goes: PREFIX/bin/NAME, or the peer's own directory. */
export function linkPaths(prefix?: string): { name: string; path: string }[] {
  return PROGRAMS.map((p) => ({ name: p.name, path: prefix === undefined ? join(p.dir, p.name) : join(resolve(prefix), "bin", p.name) }));
}

/** What is at `path`: nothing, a link to this vmlan, a link to some (other) vmlan binary, or something else. */
function inspect(path: string, bin: string): "none" | "ours" | "vmlan" | "foreign" {
  let l;
  try {
    l = lstatSync(path);
  } catch {
    return "none";
  }
  if (!l.isSymbolicLink()) return "foreign";
  const target = readlinkSync(path);
  try {
    const [a, b] = [statSync(path), statSync(bin)];
    if (a.dev === b.dev && a.ino === b.ino) return "ours";
  } catch {
    // a dangling link: judged by its target's name below
  }
  return /^vmlan(-[a-z0-9]+)*$/.test(basename(target)) ? "vmlan" : "foreign";
}

function each(prefix: string | undefined, fn: (name: string, path: string) => LinkOutcome): LinkResult[] {
  return linkPaths(prefix).map(({ name, path }) => {
    try {
      return { name, path, ok: true, outcome: fn(name, path) };
    } catch (e) {
      const error = e instanceof VmlanError ? e : new VmlanError(`${path}: ${(e as Error).message}`, { code: "EHOST", exitCode: 6 });
      return { name, path, ok: false, error };
    }
  });
}

export function installLinks(bin: string, prefix?: string): LinkResult[] {
  return each(prefix, (_name, path) => {
    const state = inspect(path, bin);
    if (state === "ours") return "unchanged";
    if (state === "foreign") throw new ConflictError(`${path} exists and is not a link to vmlan (the real program?); remove it first to use vmlan there`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    if (state === "vmlan") unlinkSync(path); // a link to an older vmlan binary: point it at this one
    symlinkSync(bin, path);
    return state === "vmlan" ? "updated" : "created";
  });
}

export function uninstallLinks(bin: string, prefix?: string): LinkResult[] {
  const results = each(prefix, (_name, path) => {
    const state = inspect(path, bin);
    if (state === "none") return "absent";
    if (state === "foreign") return "kept"; // not ours (the real program?): never removed
    unlinkSync(path);
    return "removed";
  });
  // The peers' directories, once empty, go too (/opt/vmnet-helper/bin, then /opt/vmnet-helper); a prefix is the user's.
  if (prefix === undefined) {
    for (const dir of new Set(PROGRAMS.map((p) => p.dir))) for (const d of [dir, dirname(dir)]) removeIfEmpty(d);
  }
  return results;
}

function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // absent or not ours to judge: leave it
  }
}
