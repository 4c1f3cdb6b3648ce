/**
 * Tells which OS and CPU an executable is for, from its first bytes. `file(1)` is not installed on
 * every CI machine, and a cross-compiled darwin binary must be checked on Linux, so we read the
 * headers ourselves. Used by scripts/build.ts after every build and by test/scripts/build.test.ts.
 */

export type Os = "linux" | "darwin";
export type Arch = "x64" | "arm64";
export type ExecutableKind = { os: Os; arch: Arch };

// ELF (System V gABI): "\x7fELF", EI_CLASS at 4 (2 = 64-bit), EI_DATA at 5 (1 = little-endian),
// e_machine u16 at 18 (62 = EM_X86_64, 183 = EM_AARCH64).
const ELF_MACHINE: Record<number, Arch> = { 62: "x64", 183: "arm64" };
// Mach-O (<mach-o/loader.h>): MH_MAGIC_64 = 0xfeedfacf stored little-endian, cputype i32 at 4
// (<mach/machine.h>: CPU_TYPE_X86_64 = 0x01000007, CPU_TYPE_ARM64 = 0x0100000c).
const MH_MAGIC_64 = 0xfeedfacf;
const MACHO_CPU: Record<number, Arch> = { 0x01000007: "x64", 0x0100000c: "arm64" };

/** Bytes needed by `detectExecutable`. */
export const HEADER_BYTES = 20;

/** The OS and CPU of a 64-bit little-endian ELF or Mach-O header, or a reason it is neither. */
export function detectExecutable(head: Uint8Array): ExecutableKind | { error: string } {
  if (head.length < HEADER_BYTES) return { error: `only ${head.length} bytes, not an executable header` };
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) {
    if (head[4] !== 2 || head[5] !== 1) return { error: "ELF but not 64-bit little-endian" };
    const machine = view.getUint16(18, true);
    const arch = ELF_MACHINE[machine];
    return arch ? { os: "linux", arch } : { error: `ELF for unknown machine ${machine}` };
  }
  if (view.getUint32(0, true) === MH_MAGIC_64) {
    const cpu = view.getUint32(4, true);
    const arch = MACHO_CPU[cpu];
    return arch ? { os: "darwin", arch } : { error: `Mach-O for unknown cputype 0x${cpu.toString(16)}` };
  }
  const magic = [...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  return { error: `neither ELF nor 64-bit Mach-O (first bytes ${magic})` };
}

/** Null when the file at `path` is an executable for `want`, else a one-line reason. */
export async function checkExecutable(path: string, want: ExecutableKind): Promise<string | null> {
  const head = new Uint8Array(await Bun.file(path).slice(0, HEADER_BYTES).arrayBuffer());
  const got = detectExecutable(head);
  if ("error" in got) return `${path}: ${got.error}`;
  if (got.os !== want.os || got.arch !== want.arch) {
    return `${path}: is ${got.os}-${got.arch}, expected ${want.os}-${want.arch}`;
  }
  return null;
}
