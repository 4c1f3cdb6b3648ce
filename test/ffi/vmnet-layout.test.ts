/**
 * ffi/vmnet's layouts and numbers against a C compiler: a probe prints sizeof/alignof/offsetof and every
 * enum value; they must equal ffi/vmnet/structs.ts and constants.ts. On Linux the header is the one the
 * double implements (shims/vmnet.h); on macOS (scripts/verify-macos.sh) it is the SDK's <vmnet/vmnet.h>,
 * which is what makes the Linux-only numbers trustworthy. Needs clang (the header declares blocks) —
 * Debian: clang, libblocksruntime-dev.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as C from "../../ffi/vmnet/constants.ts";
import { iovec, vmlan_forward, vmpktdesc } from "../../ffi/vmnet/structs.ts";

const SHIMS = join(import.meta.dir, "..", "..", "shims");
const ENUMS = [
  "VMNET_SUCCESS", "VMNET_FAILURE", "VMNET_MEM_FAILURE", "VMNET_INVALID_ARGUMENT", "VMNET_SETUP_INCOMPLETE",
  "VMNET_INVALID_ACCESS", "VMNET_PACKET_TOO_BIG", "VMNET_BUFFER_EXHAUSTED", "VMNET_TOO_MANY_PACKETS",
  "VMNET_SHARING_SERVICE_BUSY", "VMNET_NOT_AUTHORIZED", "VMNET_HOST_MODE", "VMNET_SHARED_MODE", "VMNET_BRIDGED_MODE",
  "VMNET_INTERFACE_PACKETS_AVAILABLE",
] as const;

const dir = mkdtempSync(join(tmpdir(), "vmlan-vmnet-layout-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function probe(): Record<string, number[]> {
  const header = process.platform === "darwin" ? "<vmnet/vmnet.h>" : `"vmnet.h"`;
  // <sys/uio.h> first: older SDKs' <vmnet/vmnet.h> uses struct iovec without including it (Code-Hex/vz notes the same).
  const lines = ["#include <stdalign.h>", "#include <stddef.h>", "#include <stdio.h>", "#include <sys/uio.h>", `#include ${header}`, `#include "vmnet-forward.h"`, "int main(void) {"];
  for (const l of [vmpktdesc, iovec, vmlan_forward]) {
    const t = `struct ${l.name}`;
    lines.push(`  printf("${l.name} %zu %zu\\n", sizeof(${t}), alignof(${t}));`);
    for (const f of Object.keys(l.fields)) lines.push(`  printf("${l.name}.${f} %zu %zu\\n", offsetof(${t}, ${f}), sizeof(((${t} *)0)->${f}));`);
  }
  for (const e of ENUMS) lines.push(`  printf("${e} %u 0\\n", (unsigned)${e});`);
  lines.push("  return 0;", "}");
  writeFileSync(join(dir, "probe.c"), lines.join("\n"));
  const frameworks = process.platform === "darwin" ? ["-framework", "vmnet"] : [];
  const cc = Bun.spawnSync(["clang", "-fblocks", "-std=c11", `-I${SHIMS}`, "-o", join(dir, "probe"), join(dir, "probe.c"), ...frameworks], { stderr: "pipe" });
  expect(cc.stderr.toString()).toBe("");
  const out = Bun.spawnSync([join(dir, "probe")]).stdout.toString().trim().split("\n");
  return Object.fromEntries(out.map((l) => { const [k, a, b] = l.split(" "); return [k!, [Number(a), Number(b)]]; }));
}

test(`vmpktdesc, iovec, vmlan_forward and the vmnet enums match ${process.platform === "darwin" ? "the macOS SDK" : "shims/vmnet.h"}`, () => {
  const fromC = probe();
  const ours: Record<string, number[]> = {};
  for (const l of [vmpktdesc, iovec, vmlan_forward]) {
    ours[l.name] = [l.size, l.align];
    for (const [f, v] of Object.entries(l.fields)) ours[`${l.name}.${f}`] = [v.offset, v.size];
  }
  for (const e of ENUMS) ours[e] = [C[e], 0];
  expect(ours).toEqual(fromC);
  expect(fromC.vmpktdesc).toEqual([24, 8]); // LP64, as native-facts §A 5.1 states
  expect(fromC.vmlan_forward).toEqual([24, 2]);
});

test("every vmnet_return_t has a name", () => {
  for (let s = C.VMNET_SUCCESS; s <= C.VMNET_NOT_AUTHORIZED; s++) expect(C.VMNET_RETURN_NAMES[s]).toMatch(/^VMNET_/);
});
