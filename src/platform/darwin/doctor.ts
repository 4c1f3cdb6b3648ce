/**
 * `vmlan doctor` on macOS: what vmlan needs from this Mac, one line per check, each with a fix.
 * darwinChecks is pure (tested on Linux); darwinDoctor gathers the facts on a Mac.
 */
import { existsSync } from "node:fs";
import type { DoctorCheck } from "../../vm/backend.ts";
import { LAUNCHD_LABEL } from "../../core/resources/mach-services.ts";
import { vmnetShim } from "../../../ffi/vmnet/load.ts";
import { vz } from "../../../ffi/vz/load.ts";
import { guestImageCheck } from "../guest-image-check.ts";
import { hasEntitlement, privilegeGap, SIGN_FIX } from "./common.ts";
import { macosMajor, NETWORKS_SINCE } from "./version.ts";

/** Virtualization.framework (VZVirtualMachine, the file-handle NIC) is there from macOS 11. */
export const OLDEST_MACOS = 11;
export const BROKER_PLIST = `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`;
const BUILD_FIX = "use a release binary (built on a Mac), or build on a Mac: npm run build -- --host";

export interface DarwinFacts {
  /** The major version, or why it could not be read. */
  macos: number | { error: string };
  root: boolean;
  /** com.apple.security.virtualization in this binary's signature. */
  entitled: boolean;
  /** null when the shim opened; else the loader's message. */
  vmnetShim: string | null;
  vzShim: string | null;
  /** VZVirtualMachine.isSupported; null when the VZ shim did not open. */
  vmSupported: boolean | null;
  broker: "loaded" | "installed" | "absent";
}

function versionCheck(major: number): DoctorCheck {
  if (major < OLDEST_MACOS) return { check: "macos", status: "fail", detail: `macOS ${major}: vmlan needs macOS ${OLDEST_MACOS} or newer (Virtualization.framework)`, fix: `update macOS (${NETWORKS_SINCE} for named networks)` };
  if (major < NETWORKS_SINCE) {
    return { check: "macos", status: "warn", detail: `macOS ${major}: vmnet's shared network \`default\` only (its subnet is vmnet's); named networks and host mode need macOS ${NETWORKS_SINCE}`, fix: `update to macOS ${NETWORKS_SINCE} for named networks` };
  }
  return { check: "macos", status: "ok", detail: `macOS ${major}: vmnet networks (named, shared or host, each with its own subnet)` };
}

function privilegeCheck(major: number, f: DarwinFacts): DoctorCheck {
  const gap = privilegeGap(major, f.root, () => f.entitled);
  if (gap === "root") return { check: "privileges", status: "fail", detail: `on macOS ${major} vmnet needs root`, fix: "run vmlan with sudo (the helper drops to your user once vmnet has started)" };
  if (gap === "entitlement") return { check: "privileges", status: "fail", detail: "not root, and no com.apple.security.virtualization entitlement: vmnet refuses this process", fix: SIGN_FIX };
  return { check: "privileges", status: "ok", detail: f.root ? "root" : "not root: vmnet networks through the virtualization entitlement" };
}

export function darwinChecks(f: DarwinFacts): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  if (typeof f.macos !== "number") out.push({ check: "macos", status: "fail", detail: f.macos.error, fix: "set VMLAN_DARWIN_VERSION to the major version (e.g. 26)" });
  else out.push(versionCheck(f.macos), privilegeCheck(f.macos, f));
  out.push(f.vmnetShim === null
    ? { check: "vmnet", status: "ok", detail: "the vmnet shim is in this binary" }
    : { check: "vmnet", status: "fail", detail: `no vmnet shim (a binary cross-built off a Mac carries none): ${f.vmnetShim}`, fix: BUILD_FIX });
  // Virtualization.framework refuses a process without the entitlement, root or not.
  out.push(f.entitled
    ? { check: "entitlement", status: "ok", detail: "com.apple.security.virtualization: `vmlan vm run` can boot VMs" }
    : { check: "entitlement", status: "warn", detail: "no com.apple.security.virtualization entitlement: `vmlan vm run` cannot boot VMs (root does not help)", fix: SIGN_FIX });
  if (f.vzShim !== null) out.push({ check: "virtualization", status: "warn", detail: `no Virtualization.framework shim: \`vmlan vm run\` cannot boot VMs: ${f.vzShim}`, fix: BUILD_FIX });
  else if (f.vmSupported === false) out.push({ check: "virtualization", status: "warn", detail: "VZVirtualMachine.isSupported is false: this Mac cannot run VMs (a VM without nested virtualization?); networks still work", fix: "run vmlan on the Mac itself" });
  else out.push({ check: "virtualization", status: "ok", detail: "Virtualization.framework can run VMs here" });
  if (typeof f.macos === "number" && f.macos >= NETWORKS_SINCE) {
    out.push(f.broker === "loaded"
      ? { check: "broker", status: "ok", detail: `launchd runs the broker (${LAUNCHD_LABEL}): every vmlan process takes its networks from it` }
      : f.broker === "installed"
        ? { check: "broker", status: "warn", detail: `${BROKER_PLIST} is there but launchd has not loaded it`, fix: `sudo launchctl bootstrap system ${BROKER_PLIST}` }
        : { check: "broker", status: "warn", detail: "the broker is not installed: each vmlan process then creates the networks it uses itself, and a network lasts only while a process holds it (docs/macos.md)", fix: "sudo vmlan system install" });
  }
  return out;
}

/** The loader's message when a library does not open, else null. */
function opens(open: () => unknown): string | null {
  try {
    open();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** launchctl(1): "Anyone may read or query the system domain", so this needs no root. */
function brokerState(): DarwinFacts["broker"] {
  const r = Bun.spawnSync(["launchctl", "print", `system/${LAUNCHD_LABEL}`], { stdout: "ignore", stderr: "ignore", stdin: "ignore" });
  return r.exitCode === 0 ? "loaded" : existsSync(BROKER_PLIST) ? "installed" : "absent";
}

export function darwinDoctor(): DoctorCheck[] {
  let macos: DarwinFacts["macos"];
  try {
    macos = macosMajor();
  } catch (e) {
    macos = { error: (e as Error).message };
  }
  const vzShim = opens(vz);
  const checks = darwinChecks({
    macos, root: process.geteuid?.() === 0, entitled: hasEntitlement(), vmnetShim: opens(vmnetShim), vzShim,
    vmSupported: vzShim === null ? vz().vmlan_vz_supported() === 1 : null, broker: brokerState(),
  });
  return [...checks, guestImageCheck()];
}
