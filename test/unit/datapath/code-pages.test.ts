/**
 * The helper gives back clean code pages (datapath/code-pages.ts): only read-only mappings of files
 * that were never written are picked (never RELRO, which the dynamic loader writes before it makes
 * it read-only), checked against the kernel's own account of this process (smaps `Anonymous:`),
 * and the process runs on after the pages are gone.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { cleanCodeMappings, dropCleanCodePages } from "../../../src/datapath/code-pages.ts";

const MAPS = [
  "00200000-01a39000 r--p 00000000 fe:00 5769475 /opt/vmlan",
  "01a40000-0684a000 r-xp 01838000 fe:00 5769475 /opt/vmlan",
  "0685f000-06867000 r--p 06656000 fe:00 5769475 /opt/vmlan", // RELRO: right below the RW mapping
  "06867000-06e81000 rw-p 0665e000 fe:00 5769475 /opt/vmlan",
  "06e81000-07000000 rw-p 00000000 00:00 0 [heap]",
  "7f00000000-7f00100000 r--p 00000000 00:00 0 ", // anonymous read-only
  "7f10000000-7f10010000 r-xp 00000000 fe:00 42 /usr/lib/libc.so.6",
  "7f10010000-7f10012000 r--p 00010000 fe:00 42 /usr/lib/libc.so.6",
  "7f10012000-7f10014000 rw-p 00012000 fe:00 42 /usr/lib/libc.so.6",
  "7f20000000-7f20001000 r-xp 00000000 00:00 0 [vdso]",
  "7f30000000-7f30001000 rw-s 00000000 00:05 7 /dev/zero (deleted)",
].join("\n");

test("picks code and read-only data of files; never RELRO, writable, anonymous or kernel mappings", () => {
  expect(cleanCodeMappings(MAPS).map((m) => `${m.start.toString(16)} ${m.perms} ${m.path}`)).toEqual([
    "200000 r--p /opt/vmlan",
    "1a40000 r-xp /opt/vmlan",
    "7f10000000 r-xp /usr/lib/libc.so.6",
  ]);
});

test("every mapping picked in this process has no page of its own (smaps Anonymous: 0)", () => {
  const maps = readFileSync("/proc/self/maps", "latin1");
  const smaps = readFileSync("/proc/self/smaps", "latin1");
  const anonymous = new Map<number, number>();
  let start = -1;
  for (const line of smaps.split("\n")) {
    const m = /^([0-9a-f]+)-[0-9a-f]+ /.exec(line);
    if (m) start = parseInt(m[1]!, 16);
    else if (line.startsWith("Anonymous:")) anonymous.set(start, parseInt(line.slice(10), 10));
  }
  const picked = cleanCodeMappings(maps);
  expect(picked.some((m) => m.perms === "r-xp" && m.path === process.execPath)).toBe(true); // the runtime's own code
  for (const m of picked) expect({ path: m.path, start: m.start.toString(16), anonymous: anonymous.get(m.start) }).toEqual({ path: m.path, start: m.start.toString(16), anonymous: 0 });
});

test("the process runs on without the pages: they come back from the file as they are used", () => {
  const before = Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]);
  expect(dropCleanCodePages()).toBeGreaterThan(0);
  const after = Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]);
  expect(after).toBeLessThan(before);
  Bun.gc(true);
  expect(JSON.parse(JSON.stringify({ a: [1, 2, 3] }))).toEqual({ a: [1, 2, 3] });
});
