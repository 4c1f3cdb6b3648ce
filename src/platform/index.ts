import type { Platform } from "./types.ts";
import { VmlanError } from "../core/errors.ts";

/**
 * The only place that branches on the OS. Literal `process.platform` compares let the bundler
 * drop the other OS's code from each compiled binary.
 */
export async function hostPlatform(): Promise<Platform> {
  if (process.platform === "linux") {
    const { createLinuxPlatform } = await import("./linux/index.ts");
    return createLinuxPlatform();
  }
  throw new VmlanError(`vmlan does not manage host networks on ${process.platform} yet (the macOS vmnet backend is a later milestone)`, { code: "EUNSUPPORTED", exitCode: 6 });
}

/** The VM backend (QEMU on Linux), chosen here like the platform. */
export async function hostVmBackend(self: string[]): Promise<import("../vm/backend.ts").VmBackend> {
  if (process.platform === "linux") {
    const { createQemuBackend } = await import("./linux/qemu.ts");
    return createQemuBackend(self);
  }
  throw new VmlanError(`vmlan cannot run VMs on ${process.platform} yet (the macOS Virtualization.framework backend is a later milestone)`, { code: "EUNSUPPORTED", exitCode: 6 });
}

/** `vmlan doctor`'s checks for this OS. */
export async function hostDoctor(): Promise<import("../vm/backend.ts").DoctorCheck[]> {
  if (process.platform === "linux") {
    const { linuxDoctor } = await import("./linux/doctor.ts");
    return linuxDoctor();
  }
  if (process.platform === "darwin") {
    return [{ check: "macos", status: "warn", detail: "macOS checks (vmnet entitlement, macOS version) come with the darwin backend", fix: "use Linux for now" }];
  }
  return [{ check: "os", status: "fail", detail: `vmlan does not support ${process.platform}` }];
}
