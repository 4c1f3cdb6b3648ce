/**
 * Gives back the pages of code a long-running helper no longer runs. RSS counts every page of the
 * executable and its libraries that the process ever touched: a helper's start touches about 40 MB
 * of them (Bun's module loader and bytecode cache, JavaScriptCore's JIT compilers, SQLite,
 * libnftables), while forwarding runs in about 7–15 MB of them (bench helper). They are clean
 * pages of files in the page cache, shared with every other process that maps them, which the
 * kernel drops by itself when memory runs short; madvise(MADV_DONTNEED) drops them from this
 * process's page tables now, so its RSS is what it uses. The pages it still runs come back at once
 * as minor faults from the page cache (no disk read).
 *
 * Only mappings where that loses nothing are touched: read-only mappings of a file that were never
 * written, so every page equals the file's. Code (r-xp) is never written. A read-only data mapping
 * (r--p) is too, except RELRO: the dynamic loader writes relocations there and then makes it
 * read-only, and it sits right below the writable mapping of the same file (ELF's PT_GNU_RELRO
 * covers the start of the RW segment); those are skipped, as is every mapping right below a
 * writable one of its file. /proc/self/maps is read in the same synchronous step as the madvise
 * calls, so the ranges are the ones mapped at that moment. Linux only: elsewhere it does nothing.
 */
import { readFileSync } from "node:fs";
import type { Pointer } from "bun:ffi";
import { libc } from "../../ffi/libc/load.ts";

/** MADV_DONTNEED (asm-generic/mman-common.h). */
const MADV_DONTNEED = 4;
const LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) [0-9a-f]+ \S+ (\d+) +(.*)$/;

export interface Mapping {
  start: number;
  end: number;
  perms: string;
  path: string;
}

/** The mappings of /proc/<pid>/maps text that are safe to drop (see above). */
export function cleanCodeMappings(maps: string): Mapping[] {
  const all: Mapping[] = [];
  for (const line of maps.split("\n")) {
    const m = LINE.exec(line);
    if (m && m[4] !== "0" && m[5]!.startsWith("/")) all.push({ start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), perms: m[3]!, path: m[5]! });
  }
  return all.filter((m, i) => {
    if (m.perms === "r-xp") return true;
    if (m.perms !== "r--p") return false;
    const next = all[i + 1];
    return !(next && next.path === m.path && next.start === m.end && next.perms.startsWith("rw")); // RELRO
  });
}

/** Drops those mappings' pages from this process's page tables; returns the bytes of address range advised (0 where not supported). */
export function dropCleanCodePages(): number {
  if (process.platform !== "linux") return 0;
  let maps: string;
  try {
    maps = readFileSync("/proc/self/maps", "latin1");
  } catch {
    return 0;
  }
  let advised = 0;
  for (const m of cleanCodeMappings(maps)) {
    if (libc().madvise(m.start as Pointer, m.end - m.start, MADV_DONTNEED) === 0) advised += m.end - m.start;
  }
  return advised;
}
