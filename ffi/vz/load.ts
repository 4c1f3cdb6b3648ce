/**
 * The Virtualization.framework shim (shims/vz.m built as libvmlan-vz.dylib), opened on first use.
 *   VMLAN_VZ_PATH  the dylib; default: embedded in the darwin binary (/$bunfs/root, as for the vmnet
 *                  shim), else next to the executable. scripts/verify-macos.sh builds it.
 */
import { existsSync } from "node:fs";
import { lazyLibrary } from "../load.ts";
import { vzSymbols } from "./symbols.ts";

export const EMBEDDED_VZ = "/$bunfs/root/libvmlan-vz.dylib";

export const vz = lazyLibrary({
  name: "vz",
  envVar: "VMLAN_VZ_PATH",
  defaultPath: existsSync(EMBEDDED_VZ) ? EMBEDDED_VZ : `${process.execPath.replace(/[^/]*$/, "")}libvmlan-vz.dylib`,
  symbols: vzSymbols,
});
