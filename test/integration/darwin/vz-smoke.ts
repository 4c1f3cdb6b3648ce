/**
 * A VM smoke test for a Mac (scripts/verify-macos.sh runs it; it cannot run on Linux): boots the kernel
 * and initrd named by VMLAN_VZ_KERNEL / VMLAN_VZ_INITRD through the Virtualization.framework backend
 * (src/platform/darwin/vz.ts → ffi/vz → shims/vz.m) with the console in a file and one NIC on a datagram
 * socketpair (VZFileHandleNetworkDeviceAttachment, the shape `vmlan helper` serves). Checks: the VM
 * starts, the kernel banner reaches the console file, any frame the guest sends arrives on our end of
 * the socketpair (reported, not required: it depends on the initrd bringing eth0 up), and a forced stop
 * ends it with `exited` resolving. Prints `finding:` lines.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libc } from "../../../ffi/libc/load.ts";
import { OS } from "../../../ffi/libc/os.ts";
import { vz } from "../../../ffi/vz/load.ts";
import { createVzBackend } from "../../../src/platform/darwin/vz.ts";

const kernel = process.env.VMLAN_VZ_KERNEL;
const initrd = process.env.VMLAN_VZ_INITRD;
if (!kernel || !existsSync(kernel)) {
  console.log("finding: VM boot skipped (set VMLAN_VZ_KERNEL, and VMLAN_VZ_INITRD, to an arm64/x86-64 Linux kernel for this Mac)");
  process.exit(0);
}
const sv = new Int32Array(2);
if (libc().socketpair(OS.AF_UNIX, OS.SOCK_DGRAM, 0, sv) !== 0) throw new Error("socketpair failed");
const [ours, vmEnd] = [sv[0]!, sv[1]!];
const consolePath = join(mkdtempSync(join(tmpdir(), "vmlan-vz-")), "console.log");
const backend = createVzBackend([process.execPath]);
backend.ensureInstalled(() => {});
console.log(`finding: vz nested virtualization supported=${vz().vmlan_vz_nested_supported()}`);
const proc = await backend.start({
  name: "smoke", accel: "vz", cpus: 1, memoryMb: 512, kernel, initrd, append: "console=ttyS0 panic=-1",
  nics: [{ mac: "02:76:6d:6c:61:6e", port: { kind: "dgram", fd: vmEnd, ifname: "", close: () => {} } }],
  console: { kind: "file", path: consolePath },
});
console.log("finding: VZ VM started");
const buf = new Uint8Array(2048);
let frames = 0;
let banner = false;
for (let t = 0; t < 600 && !(banner && frames > 0); t++) {
  await Bun.sleep(100);
  banner ||= existsSync(consolePath) && readFileSync(consolePath, "utf8").includes("Linux version");
  while (Number(libc().recv(ours, buf, buf.length, OS.MSG_DONTWAIT)) > 0) frames++;
}
console.log(`finding: kernel banner on the virtio console: ${banner ? "yes" : "NO"}`);
console.log(`finding: frames from the guest NIC on the datagram fd: ${frames}`);
proc.stop!(); // ACPI stop request (what `vm run` does on the first Ctrl-C)
await Bun.sleep(2000);
proc.stop!(); // second call: forced stop
const code = await Promise.race([proc.exited!, Bun.sleep(35_000).then(() => "timeout")]);
console.log(`finding: VM stopped: exited=${code}`);
process.exit(banner && code !== "timeout" ? 0 : 1);
