/**
 * Whether KVM really works for a stock guest kernel. /dev/kvm existing is not enough: under
 * kvm_pvm (PVM, a paravirtualized KVM for nested clouds) a stock Debian kernel hangs right after
 * "Probing EDD" and `-cpu host` aborts on MSR 0x10a (measured, shared/native-facts.md §E).
 * So KVM is used only with /dev/kvm read-write, no kvm_pvm module and vmx or svm in /proc/cpuinfo.
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";

export interface AccelChoice {
  accel: "kvm" | "tcg";
  /** One line for people: why this accelerator. */
  reason: string;
  /** What to do to get KVM, when it is not used. */
  fix?: string;
}

export function detectAccel(fsRoot = ""): AccelChoice {
  const dev = `${fsRoot}/dev/kvm`;
  if (!existsSync(dev)) return { accel: "tcg", reason: "no /dev/kvm: using TCG (software emulation, slower)", fix: "load kvm_intel or kvm_amd, or enable nested virtualization for this VM" };
  try {
    accessSync(dev, constants.R_OK | constants.W_OK);
  } catch {
    return { accel: "tcg", reason: "/dev/kvm is not read-write for this user: using TCG", fix: "run as root or add the user to the kvm group" };
  }
  if (existsSync(`${fsRoot}/sys/module/kvm_pvm`)) {
    return { accel: "tcg", reason: "/dev/kvm is kvm_pvm, which boots only PVM-enabled guest kernels (a stock kernel hangs): using TCG", fix: "use a PVM guest kernel, or a host with hardware virtualization (vmx/svm)" };
  }
  let cpuinfo = "";
  try {
    cpuinfo = readFileSync(`${fsRoot}/proc/cpuinfo`, "utf8");
  } catch {}
  if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) {
    return { accel: "tcg", reason: "the CPU shows no vmx/svm flag, so /dev/kvm cannot run a stock guest: using TCG", fix: "enable hardware virtualization (BIOS, or nested virtualization for this VM)" };
  }
  return { accel: "kvm", reason: "KVM with hardware virtualization" };
}
