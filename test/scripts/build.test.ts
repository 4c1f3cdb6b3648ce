/**
 * The header check that scripts/build.ts runs after each build, and every dist/vmlan-<target>
 * present checked against its name. On CI (CI=true) npm test builds all four targets first, so the
 * Mach-O outputs are checked there even though they cannot run on Linux.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkExecutable, detectExecutable, HEADER_BYTES } from "../../scripts/executable-format.ts";
import { ROOT, TARGETS } from "../../scripts/build.ts";

function header(bytes: [number, number][], fill = 0): Uint8Array {
  const h = new Uint8Array(HEADER_BYTES).fill(fill);
  for (const [offset, value] of bytes) h[offset] = value;
  return h;
}
// "\x7fELF", 64-bit, little-endian, e_machine at 18.
const elf = (machine: number) => header([[0, 0x7f], [1, 0x45], [2, 0x4c], [3, 0x46], [4, 2], [5, 1], [18, machine & 0xff], [19, machine >> 8]]);
// MH_MAGIC_64 little-endian (cf fa ed fe), then cputype little-endian.
const macho = (cpu: number) => header([[0, 0xcf], [1, 0xfa], [2, 0xed], [3, 0xfe], [4, cpu & 0xff], [7, cpu >>> 24]]);

describe("detectExecutable", () => {
  test("ELF x86-64 and aarch64", () => {
    expect(detectExecutable(elf(62))).toEqual({ os: "linux", arch: "x64" });
    expect(detectExecutable(elf(183))).toEqual({ os: "linux", arch: "arm64" });
  });
  test("Mach-O x86_64 (0x01000007) and arm64 (0x0100000c)", () => {
    expect(detectExecutable(macho(0x01000007))).toEqual({ os: "darwin", arch: "x64" });
    expect(detectExecutable(macho(0x0100000c))).toEqual({ os: "darwin", arch: "arm64" });
  });
  test("rejects other files with a reason", () => {
    expect(detectExecutable(elf(40))).toEqual({ error: "ELF for unknown machine 40" });
    expect(detectExecutable(macho(0x01000012))).toHaveProperty("error");
    expect(detectExecutable(header([[0, 0x23], [1, 0x21]]))).toHaveProperty("error"); // "#!" script
    expect(detectExecutable(new Uint8Array(4))).toHaveProperty("error");
  });
});

describe("dist outputs", () => {
  for (const [name, target] of Object.entries(TARGETS)) {
    const file = join(ROOT, "dist", `vmlan-${name}`);
    test.skipIf(!existsSync(file))(`dist/vmlan-${name} is ${target.os}-${target.arch}`, async () => {
      expect(await checkExecutable(file, target)).toBeNull();
    });
  }
});
