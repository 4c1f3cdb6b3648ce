/**
 * Checks the embedded code signature of a thin 64-bit Mach-O the way the kernel does before it lets
 * the binary run (a cross-built darwin binary is checked on Linux, where codesign does not exist).
 * Several Bun releases wrote signatures that macOS kills at exec ("load code signature error",
 * oven-sh/bun #29306, #39764), so scripts/build.ts refuses a darwin binary this finds wrong.
 *
 * Layouts (<mach-o/loader.h>; xnu osfmk/kern/cs_blobs.h; all signature fields big-endian):
 *   LC_CODE_SIGNATURE 0x1d: linkedit_data_command {cmd, cmdsize, dataoff, datasize} (little-endian)
 *   LC_SEGMENT_64 0x19: {cmd, cmdsize, segname[16], vmaddr, vmsize, fileoff, filesize (u64), ...}
 *   SuperBlob CSMAGIC_EMBEDDED_SIGNATURE 0xfade0cc0 {magic, length, count, {type, offset}[count]}
 *   CodeDirectory CSMAGIC_CODEDIRECTORY 0xfade0c02 {magic, length, version, flags, hashOffset,
 *     identOffset, nSpecialSlots, nCodeSlots, codeLimit, hashSize u8, hashType u8, platform u8,
 *     pageSize u8 (log2), spare2, [0x20100] scatterOffset, [0x20200] teamOffset, [0x20300] spare3,
 *     codeLimit64, [0x20400] execSegBase, execSegLimit, execSegFlags}
 *   page hash i = H(file[i*page .. min((i+1)*page, codeLimit)]); special slot n (at hashOffset -
 *   n*hashSize) = H(the whole blob of type n), e.g. 2 requirements, 5 entitlements, 7 DER entitlements.
 */
import { createHash } from "node:crypto";

const MH_MAGIC_64 = 0xfeedfacf;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSSLOT_CODEDIRECTORY = 0;
const CSSLOT_ALTERNATE_CODEDIRECTORIES = 0x1000;
const CSSLOT_SIGNATURESLOT = 0x10000;
/** cs_blobs.h CS_HASHTYPE_*: node:crypto name and the digest length stored per slot. */
const HASHES: Record<number, { algo: string; size: number }> = {
  1: { algo: "sha1", size: 20 }, 2: { algo: "sha256", size: 32 }, 3: { algo: "sha256", size: 20 }, 4: { algo: "sha384", size: 48 },
};

export interface CodeDirectoryInfo {
  identifier: string;
  flags: number;
  hashType: number;
  pageSize: number;
  codeSlots: number;
  specialSlots: number;
}

export interface SignatureReport {
  /** Null when the binary carries no LC_CODE_SIGNATURE at all (arm64 macOS kills such a binary). */
  signature: { offset: number; size: number; directories: CodeDirectoryInfo[]; cms: boolean } | null;
  /** Every inconsistency found; empty means the kernel's checks would pass. */
  problems: string[];
}

/** Reads the signature of a thin Mach-O and checks every page hash and special slot. */
export function checkMachOSignature(file: Uint8Array): SignatureReport {
  const problems: string[] = [];
  const le = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length < 32 || le.getUint32(0, true) !== MH_MAGIC_64) return { signature: null, problems: ["not a thin 64-bit Mach-O"] };
  const ncmds = le.getUint32(16, true);
  let sig: { off: number; size: number } | null = null;
  let linkedit: { fileoff: number; filesize: number } | null = null;
  for (let i = 0, at = 32; i < ncmds; i++) {
    if (at + 8 > file.length) return { signature: null, problems: ["load commands run past the end of the file"] };
    const cmd = le.getUint32(at, true);
    const size = le.getUint32(at + 4, true);
    if (size < 8) return { signature: null, problems: [`load command ${i} has size ${size}`] };
    if (cmd === LC_CODE_SIGNATURE) sig = { off: le.getUint32(at + 8, true), size: le.getUint32(at + 12, true) };
    if (cmd === LC_SEGMENT_64 && segname(file, at + 8) === "__LINKEDIT") {
      linkedit = { fileoff: Number(le.getBigUint64(at + 40, true)), filesize: Number(le.getBigUint64(at + 48, true)) };
    }
    at += size;
  }
  if (!sig) return { signature: null, problems: ["no LC_CODE_SIGNATURE: arm64 macOS refuses to run unsigned code"] };
  if (sig.off + sig.size > file.length) return { signature: null, problems: [`signature ${sig.off}+${sig.size} lies past the end of the file (${file.length})`] };
  if (!linkedit) problems.push("no __LINKEDIT segment");
  else if (sig.off < linkedit.fileoff || sig.off + sig.size > linkedit.fileoff + linkedit.filesize) {
    problems.push(`signature ${sig.off}+${sig.size} is outside __LINKEDIT (${linkedit.fileoff}+${linkedit.filesize})`);
  }
  const be = new DataView(file.buffer, file.byteOffset + sig.off, sig.size);
  if (sig.size < 12 || be.getUint32(0) !== CSMAGIC_EMBEDDED_SIGNATURE) {
    return { signature: null, problems: [...problems, `signature does not start with the embedded-signature magic 0x${CSMAGIC_EMBEDDED_SIGNATURE.toString(16)}`] };
  }
  const length = be.getUint32(4);
  const count = be.getUint32(8);
  if (length > sig.size || 12 + 8 * count > length) problems.push(`super blob length ${length} / count ${count} do not fit its ${sig.size} bytes`);
  const blobs = new Map<number, Uint8Array>();
  for (let i = 0; i < count && 12 + 8 * i + 8 <= sig.size; i++) {
    const type = be.getUint32(12 + 8 * i);
    const off = be.getUint32(16 + 8 * i);
    if (off + 8 > sig.size) { problems.push(`blob ${type} at ${off} is outside the signature`); continue; }
    const blen = be.getUint32(off + 4);
    if (off + blen > sig.size) { problems.push(`blob ${type} (${blen} bytes at ${off}) runs past the signature`); continue; }
    blobs.set(type, file.subarray(sig.off + off, sig.off + off + blen));
  }
  const directories: CodeDirectoryInfo[] = [];
  for (const [type, blob] of blobs) {
    if (type !== CSSLOT_CODEDIRECTORY && !(type >= CSSLOT_ALTERNATE_CODEDIRECTORIES && type < CSSLOT_ALTERNATE_CODEDIRECTORIES + 5)) continue;
    const cd = checkDirectory(file, blob, sig.off, blobs, problems);
    if (cd) directories.push(cd);
  }
  if (!blobs.has(CSSLOT_CODEDIRECTORY)) problems.push("no code directory in the signature");
  return { signature: { offset: sig.off, size: sig.size, directories, cms: blobs.has(CSSLOT_SIGNATURESLOT) }, problems };
}

function segname(file: Uint8Array, at: number): string {
  const raw = file.subarray(at, at + 16);
  const end = raw.indexOf(0);
  return new TextDecoder().decode(raw.subarray(0, end < 0 ? 16 : end));
}

function digest(algo: string, size: number, data: Uint8Array): Buffer {
  return createHash(algo).update(data).digest().subarray(0, size);
}

function checkDirectory(file: Uint8Array, blob: Uint8Array, sigOff: number, blobs: Map<number, Uint8Array>, problems: string[]): CodeDirectoryInfo | null {
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (blob.length < 44 || v.getUint32(0) !== CSMAGIC_CODEDIRECTORY) { problems.push("code directory has a wrong magic"); return null; }
  const version = v.getUint32(8);
  const flags = v.getUint32(12);
  const hashOffset = v.getUint32(16);
  const identOffset = v.getUint32(20);
  const nSpecial = v.getUint32(24);
  const nCode = v.getUint32(28);
  let codeLimit = v.getUint32(32);
  const hashSize = v.getUint8(36);
  const hashType = v.getUint8(37);
  const pageLog = v.getUint8(39);
  if (version >= 0x20300 && blob.length >= 64 && v.getBigUint64(56) !== 0n) codeLimit = Number(v.getBigUint64(56));
  const hash = HASHES[hashType];
  const end = blob.indexOf(0, identOffset);
  const identifier = new TextDecoder().decode(blob.subarray(identOffset, end < 0 ? identOffset : end));
  const info = { identifier, flags, hashType, pageSize: pageLog ? 2 ** pageLog : 0, codeSlots: nCode, specialSlots: nSpecial };
  const where = `code directory (hash type ${hashType})`;
  if (!hash || hash.size !== hashSize) { problems.push(`${where}: unknown hash type or size ${hashSize}`); return info; }
  if (codeLimit !== sigOff) problems.push(`${where}: code limit ${codeLimit} != signature offset ${sigOff}`);
  if (hashOffset < nSpecial * hashSize || hashOffset + nCode * hashSize > blob.length) { problems.push(`${where}: hash slots lie outside the directory`); return info; }
  const page = pageLog ? 2 ** pageLog : codeLimit;
  const want = page ? Math.ceil(codeLimit / page) : 0;
  if (nCode !== want) problems.push(`${where}: ${nCode} page hashes for ${codeLimit} bytes in ${page}-byte pages (want ${want})`);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < Math.min(nCode, want); i++) {
    const got = digest(hash.algo, hashSize, file.subarray(i * page, Math.min((i + 1) * page, codeLimit)));
    if (!got.equals(blob.subarray(hashOffset + i * hashSize, hashOffset + (i + 1) * hashSize))) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad) problems.push(`${where}: ${bad} of ${nCode} page hashes do not match the file (first: page ${first})`);
  for (let slot = 1; slot <= nSpecial; slot++) {
    const stored = blob.subarray(hashOffset - slot * hashSize, hashOffset - (slot - 1) * hashSize);
    const content = blobs.get(slot);
    const empty = stored.every((b) => b === 0);
    if (!content) {
      if (!empty) problems.push(`${where}: special slot ${slot} has a hash but the signature has no such blob`);
    } else if (!digest(hash.algo, hashSize, content).equals(stored)) {
      problems.push(`${where}: special slot ${slot} (${slot === 5 ? "entitlements" : slot === 2 ? "requirements" : slot === 7 ? "DER entitlements" : "blob"}) hash does not match its blob`);
    }
  }
  return info;
}

if (import.meta.main) {
  let failed = false;
  for (const path of process.argv.slice(2)) {
    const r = checkMachOSignature(new Uint8Array(await Bun.file(path).arrayBuffer()));
    const s = r.signature;
    console.log(`${path}: ${s ? `signature ${s.size} B at ${s.offset}, ${s.directories.map((d) => `${d.identifier} flags 0x${d.flags.toString(16)} hash ${d.hashType} ${d.codeSlots}x${d.pageSize}`).join("; ")}${s.cms ? ", CMS" : ""}` : "unsigned"}`);
    for (const p of r.problems) console.log(`  problem: ${p}`);
    failed ||= r.problems.length > 0;
  }
  process.exit(failed ? 1 : 0);
}
