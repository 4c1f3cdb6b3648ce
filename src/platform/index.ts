import type { Platform } from "./types.ts";
import { VmlanError } from "../core/errors.ts";

/**
 * The only place that branches on the OS. Literal `process.platform` compares let the bundler
 * drop the other OS's code from each compiled binary.
 */
export async function hostPlatform(): Promise<Platform> {
  // Inline, not a helper call: the bundler folds it to `false` only when it sees the literals here.
  if (process.platform === "darwin" || (typeof VMLAN_TARGET === "undefined" && darwinDoubleRequested())) {
    // macOS 26 has vmnet networks, 15 only the classic API: two implementations, picked here.
    const darwin = await import("./darwin/index.ts");
    const major = darwin.macosMajor();
    return major >= darwin.NETWORKS_SINCE ? darwin.createNetworksPlatform(major) : darwin.createClassicPlatform(major);
  }
  if (process.platform === "linux") {
    const { createLinuxPlatform } = await import("./linux/index.ts");
    return createLinuxPlatform();
  }
  throw new VmlanError(`vmlan does not manage host networks on ${process.platform}`, { code: "EUNSUPPORTED", exitCode: 6 });
}

declare const VMLAN_TARGET: string | undefined;

/**
 * Test override: VMLAN_PLATFORM=darwin-double loads the macOS platform on Linux against the vmnet
 * double (test/doubles). Honoured ONLY when VMLAN_VMNET_PATH also points at a vmnet library (so it
 * can never reach a real host's networking by accident) and only from source: in a compiled binary
 * VMLAN_TARGET is defined, the test folds to false and the Linux binary keeps no darwin code.
 */
function darwinDoubleRequested(): boolean {
  return process.env.VMLAN_PLATFORM === "darwin-double" && Boolean(process.env.VMLAN_VMNET_PATH);
}

/** The VM backend (QEMU on Linux, Virtualization.framework on macOS), chosen here like the platform. */
export async function hostVmBackend(self: string[], platform?: Platform | null): Promise<import("../vm/backend.ts").VmBackend> {
  if (process.platform === "darwin") {
    // Virtualization.framework; a NIC on a vmnet network `platform` holds in this process (macOS 26)
    // attaches to it directly, others go through `vmlan helper` (vz.ts nicAttachment).
    const { createVzBackend } = await import("./darwin/vz.ts");
    const { macosMajor } = await import("./darwin/version.ts");
    const held = platform as import("./darwin/common.ts").DarwinPlatform | null | undefined;
    return createVzBackend(self, { major: macosMajor(), ownedNetwork: (n) => held?.heldRef?.(n) ?? null, releaseNetwork: (n) => held?.releaseHeld?.(n) });
  }
  if (process.platform === "linux") {
    const { createQemuBackend } = await import("./linux/qemu.ts");
    return createQemuBackend(self);
  }
  throw new VmlanError(`vmlan cannot run VMs on ${process.platform}`, { code: "EUNSUPPORTED", exitCode: 6 });
}

/** `vmlan vm _vz-host` (macOS only): the process a detached Virtualization.framework VM runs in. */
export async function runVmHost(spec: string, deps: import("./darwin/vz-host.ts").VzHostDeps): Promise<number> {
  if (process.platform === "darwin") {
    const { parseHostSpec, runVzHost } = await import("./darwin/vz-host.ts");
    return runVzHost(parseHostSpec(spec), deps);
  }
  throw new VmlanError(`\`vm _vz-host\` runs Virtualization.framework VMs; there is none on ${process.platform}`, { code: "EUNSUPPORTED", exitCode: 6 });
}

/** `vmlan doctor`'s checks for this OS. */
export async function hostDoctor(): Promise<import("../vm/backend.ts").DoctorCheck[]> {
  if (process.platform === "linux") {
    const { linuxDoctor } = await import("./linux/doctor.ts");
    return linuxDoctor();
  }
  if (process.platform === "darwin") {
    const { darwinDoctor } = await import("./darwin/doctor.ts");
    return darwinDoctor();
  }
  return [{ check: "os", status: "fail", detail: `vmlan does not support ${process.platform}` }];
}

/** Containers' veths on a network's bridge (the CNI plugin); Linux only. */
export async function hostContainerLinker(): Promise<import("./container.ts").ContainerLinker> {
  if (process.platform === "linux") {
    const { createContainerLinker } = await import("./linux/container.ts");
    return createContainerLinker();
  }
  throw new VmlanError(`vmlan's CNI plugin needs Linux network namespaces; there are none on ${process.platform}`, { code: "EUNSUPPORTED", exitCode: 6 });
}
