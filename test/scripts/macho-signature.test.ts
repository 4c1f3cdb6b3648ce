/**
 * The Mach-O signature check and the ad-hoc signer of scripts/build-darwin.ts, on a small Mach-O
 * made here (header, __TEXT, __LINKEDIT, LC_CODE_SIGNATURE) and on the darwin binaries in dist/
 * (CI builds all four targets before the tests): Bun 1.4.5's darwin-x64 output kept the runtime's
 * Developer ID signature with stale page hashes, which the kernel kills at exec.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkMachOSignature } from "../../scripts/macho-signature.ts";
import { adhocSign } from "../../scripts/macho-adhoc-sign.ts";
import { ROOT } from "../../scripts/build.ts";

/** A thin x86_64 MH_EXECUTE: 3 pages of "code", __LINKEDIT from 0x3000, a 64-byte zeroed signature slot at its end. */
function tinyMachO(): Uint8Array {
  const codeEnd = 0x3000 + 40;
  const f = new Uint8Array(codeEnd + 64);
  const v = new DataView(f.buffer);
  v.setUint32(0, 0xfeedfacf, true);
  v.setUint32(4, 0x01000007, true);
  v.setUint32(12, 2, true); // MH_EXECUTE
  v.setUint32(16, 3, true); // ncmds
  v.setUint32(20, 72 * 2 + 16, true);
  const seg = (at: number, name: string, fileoff: number, filesize: number) => {
    v.setUint32(at, 0x19, true);
    v.setUint32(at + 4, 72, true);
    f.set(new TextEncoder().encode(name), at + 8);
    v.setBigUint64(at + 32, BigInt(filesize), true); // vmsize
    v.setBigUint64(at + 40, BigInt(fileoff), true);
    v.setBigUint64(at + 48, BigInt(filesize), true);
  };
  seg(32, "__TEXT", 0, 0x3000);
  seg(104, "__LINKEDIT", 0x3000, f.length - 0x3000);
  v.setUint32(176, 0x1d, true);
  v.setUint32(180, 16, true);
  v.setUint32(184, codeEnd, true);
  v.setUint32(188, 64, true);
  for (let i = 256; i < codeEnd; i++) f[i] = (i * 7) & 0xff;
  return f;
}

describe("checkMachOSignature", () => {
  test("a zeroed signature slot is no signature; a file without LC_CODE_SIGNATURE is refused", () => {
    expect(checkMachOSignature(tinyMachO()).problems.join()).toContain("embedded-signature magic");
    const none = tinyMachO();
    new DataView(none.buffer).setUint32(16, 2, true); // drop the third load command
    expect(checkMachOSignature(none)).toEqual({ signature: null, problems: ["no LC_CODE_SIGNATURE: arm64 macOS refuses to run unsigned code"] });
  });

  test("after adhocSign: valid, ad hoc, one SHA-256 hash per 4 KiB page up to the signature", () => {
    const signed = adhocSign(tinyMachO(), "vmlan");
    const r = checkMachOSignature(signed);
    expect(r.problems).toEqual([]);
    expect(r.signature!.directories).toEqual([{ identifier: "vmlan", flags: 0x2, hashType: 2, pageSize: 4096, codeSlots: 4, specialSlots: 2 }]);
    expect(r.signature!.offset).toBe(0x3000 + 40);
  });

  test("a changed byte in code, a changed requirements blob or a wrong code limit is found", () => {
    const code = adhocSign(tinyMachO(), "vmlan");
    code[0x2001] ^= 1;
    expect(checkMachOSignature(code).problems).toEqual(["code directory (hash type 2): 1 of 4 page hashes do not match the file (first: page 2)"]);
    const req = adhocSign(tinyMachO(), "vmlan");
    const sigOff = 0x3000 + 40;
    const reqAt = new DataView(req.buffer).getUint32(sigOff + 24, false); // the second index entry's offset
    req[sigOff + reqAt + 8] ^= 1; // the requirements blob's count
    expect(checkMachOSignature(req).problems).toEqual(["code directory (hash type 2): special slot 2 (requirements) hash does not match its blob"]);
    const limit = adhocSign(tinyMachO(), "vmlan");
    new DataView(limit.buffer).setUint32(sigOff + 28 + 32, sigOff - 1, false); // codeLimit in the directory
    expect(checkMachOSignature(limit).problems.join("\n")).toContain(`code limit ${sigOff - 1} != signature offset ${sigOff}`);
  });

  test("__LINKEDIT grows with a larger signature, and a signature outside it is reported", () => {
    const signed = adhocSign(tinyMachO(), "a-much-longer-identifier-than-before");
    const v = new DataView(signed.buffer);
    expect(Number(v.getBigUint64(104 + 40, true)) + Number(v.getBigUint64(104 + 48, true))).toBe(signed.length);
    v.setBigUint64(104 + 48, 8n, true);
    expect(checkMachOSignature(signed).problems.join()).toContain("is outside __LINKEDIT");
  });
});

describe("darwin binaries in dist/", () => {
  for (const target of ["darwin-arm64", "darwin-x64"]) {
    const file = join(ROOT, "dist", `vmlan-${target}`);
    test.skipIf(!existsSync(file))(`dist/vmlan-${target} carries a signature the kernel accepts`, () => {
      const r = checkMachOSignature(new Uint8Array(readFileSync(file)));
      expect(r.problems).toEqual([]);
      expect(r.signature).not.toBeNull();
    });
  }
});
