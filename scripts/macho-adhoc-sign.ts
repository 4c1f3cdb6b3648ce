/**
 * Replaces the code signature of a thin 64-bit Mach-O with a fresh ad-hoc one, as
 * `codesign --force --sign -` would write it without entitlements: a SHA-256 code directory
 * (version 0x20400, 4 KiB pages, CS_ADHOC, the main binary's __TEXT as the executable segment) and
 * an empty requirements blob. For darwin binaries cross-built off a Mac, where Bun left a signature
 * the kernel kills (scripts/macho-signature.ts finds it); on a Mac, codesign does this job.
 * The signature stays where LC_CODE_SIGNATURE points (it must be the end of the file, inside
 * __LINKEDIT); its size, __LINKEDIT's sizes and the file length follow the new signature.
 * Layouts: see scripts/macho-signature.ts.
 */
import { createHash } from "node:crypto";

const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const PAGE_LOG = 12;
const PAGE = 1 << PAGE_LOG;
const HASH = 32; // SHA-256
const CS_HASHTYPE_SHA256 = 2;
const CS_ADHOC = 0x2;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const MH_EXECUTE = 0x2;
const CD_HEADER = 88; // up to execSegFlags (version 0x20400)
const SPECIAL_SLOTS = 2; // 1 info (none), 2 requirements
/** Segment sizes in memory are page multiples; 16 KiB suits arm64 and x86_64 alike. */
const VM_PAGE = 0x4000;

interface Layout {
  sigCmd: number; // offset of the LC_CODE_SIGNATURE command
  sigOff: number;
  linkeditCmd: number;
  linkeditFileoff: number;
  linkeditVmsize: number;
  textFileoff: number;
  textFilesize: number;
  filetype: number;
}

function layout(file: Uint8Array): Layout {
  const le = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (le.getUint32(0, true) !== 0xfeedfacf) throw new Error("not a thin 64-bit Mach-O");
  const l: Partial<Layout> = { filetype: le.getUint32(12, true) };
  for (let i = 0, at = 32, n = le.getUint32(16, true); i < n; i++) {
    const cmd = le.getUint32(at, true);
    if (cmd === LC_CODE_SIGNATURE) {
      l.sigCmd = at;
      l.sigOff = le.getUint32(at + 8, true);
    } else if (cmd === LC_SEGMENT_64) {
      const name = new TextDecoder().decode(file.subarray(at + 8, at + 24)).replace(/\0.*$/s, "");
      if (name === "__LINKEDIT") {
        l.linkeditCmd = at;
        l.linkeditVmsize = Number(le.getBigUint64(at + 32, true));
        l.linkeditFileoff = Number(le.getBigUint64(at + 40, true));
      } else if (name === "__TEXT") {
        l.textFileoff = Number(le.getBigUint64(at + 40, true));
        l.textFilesize = Number(le.getBigUint64(at + 48, true));
      }
    }
    at += le.getUint32(at + 4, true);
  }
  if (l.sigCmd === undefined) throw new Error("no LC_CODE_SIGNATURE to rewrite (a load command would have to be added)");
  if (l.linkeditCmd === undefined || l.textFileoff === undefined) throw new Error("no __LINKEDIT or __TEXT segment");
  if (l.sigOff! < l.linkeditFileoff!) throw new Error("the signature does not lie in __LINKEDIT");
  return l as Layout;
}

const u32be = (v: DataView, at: number, x: number) => v.setUint32(at, x >>> 0, false);
const u64be = (v: DataView, at: number, x: number) => v.setBigUint64(at, BigInt(x), false);

/** A new file: everything before the old signature, then an ad-hoc signature for it. */
export function adhocSign(input: Uint8Array, identifier: string): Uint8Array {
  const l = layout(input);
  const codeLimit = l.sigOff;
  const ident = new TextEncoder().encode(`${identifier}\0`);
  const nCode = Math.ceil(codeLimit / PAGE);
  const hashOffset = CD_HEADER + ident.length + SPECIAL_SLOTS * HASH;
  const cdLen = hashOffset + nCode * HASH;
  const reqLen = 12;
  const superHeader = 12 + 2 * 8;
  const sigLen = Math.ceil((superHeader + cdLen + reqLen) / 16) * 16;
  const out = new Uint8Array(codeLimit + sigLen);
  out.set(input.subarray(0, codeLimit));

  // Load commands first: they are in page 0, which is hashed.
  const le = new DataView(out.buffer);
  le.setUint32(l.sigCmd + 12, sigLen, true); // datasize
  const linkeditFilesize = out.length - l.linkeditFileoff;
  le.setBigUint64(l.linkeditCmd + 48, BigInt(linkeditFilesize), true);
  const vmsize = Math.max(l.linkeditVmsize, Math.ceil(linkeditFilesize / VM_PAGE) * VM_PAGE);
  le.setBigUint64(l.linkeditCmd + 32, BigInt(vmsize), true);

  const sig = new DataView(out.buffer, codeLimit, sigLen);
  const cdAt = superHeader;
  const reqAt = cdAt + cdLen;
  u32be(sig, 0, 0xfade0cc0);
  u32be(sig, 4, sigLen);
  u32be(sig, 8, 2);
  u32be(sig, 12, 0); // CSSLOT_CODEDIRECTORY
  u32be(sig, 16, cdAt);
  u32be(sig, 20, 2); // CSSLOT_REQUIREMENTS
  u32be(sig, 24, reqAt);
  u32be(sig, reqAt, 0xfade0c01); // CSMAGIC_REQUIREMENTS, no requirement
  u32be(sig, reqAt + 4, reqLen);
  u32be(sig, reqAt + 8, 0);

  const cd = new DataView(out.buffer, codeLimit + cdAt, cdLen);
  u32be(cd, 0, 0xfade0c02);
  u32be(cd, 4, cdLen);
  u32be(cd, 8, 0x20400);
  u32be(cd, 12, CS_ADHOC);
  u32be(cd, 16, hashOffset);
  u32be(cd, 20, CD_HEADER);
  u32be(cd, 24, SPECIAL_SLOTS);
  u32be(cd, 28, nCode);
  u32be(cd, 32, codeLimit > 0xffffffff ? 0 : codeLimit);
  cd.setUint8(36, HASH);
  cd.setUint8(37, CS_HASHTYPE_SHA256);
  cd.setUint8(39, PAGE_LOG);
  u64be(cd, 56, codeLimit > 0xffffffff ? codeLimit : 0);
  u64be(cd, 64, l.textFileoff);
  u64be(cd, 72, l.textFilesize);
  u64be(cd, 80, l.filetype === MH_EXECUTE ? CS_EXECSEG_MAIN_BINARY : 0);
  const cdBytes = out.subarray(codeLimit + cdAt, codeLimit + cdAt + cdLen);
  cdBytes.set(ident, CD_HEADER);
  const req = out.subarray(codeLimit + reqAt, codeLimit + reqAt + reqLen);
  cdBytes.set(createHash("sha256").update(req).digest(), hashOffset - 2 * HASH); // special slot 2
  for (let i = 0; i < nCode; i++) {
    const page = out.subarray(i * PAGE, Math.min((i + 1) * PAGE, codeLimit));
    cdBytes.set(createHash("sha256").update(page).digest(), hashOffset + i * HASH);
  }
  return out;
}

if (import.meta.main) {
  const [path, identifier = "vmlan"] = process.argv.slice(2);
  if (!path) {
    console.error("usage: bun scripts/macho-adhoc-sign.ts FILE [IDENTIFIER]");
    process.exit(2);
  }
  await Bun.write(path, adhocSign(new Uint8Array(await Bun.file(path).arrayBuffer()), identifier));
}
