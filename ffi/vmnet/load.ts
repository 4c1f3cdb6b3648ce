/**
 * vmnet and the vmnet trampolines, each opened on first use (never at import).
 *   VMLAN_VMNET_PATH       vmnet.framework's binary (default /System/Library/Frameworks/vmnet.framework/vmnet);
 *                          on Linux tests point it at the double (test/doubles).
 *   VMLAN_VMNET_SHIM_PATH  the trampolines (shims/vmnet-trampolines.c built as a shared library).
 * Both must resolve to the same vmnet: on Linux the shim links the double by soname with an $ORIGIN
 * rpath, and the loader reuses an already loaded library with the same soname/file.
 */
import { existsSync } from "node:fs";
import { lazyLibrary } from "../load.ts";
import { VMNET_FRAMEWORK_PATH } from "./constants.ts";
import { shimSymbols, vmnetSymbols } from "./symbols.ts";

export const vmnet = lazyLibrary({
  name: "vmnet",
  envVar: "VMLAN_VMNET_PATH",
  defaultPath: VMNET_FRAMEWORK_PATH,
  symbols: vmnetSymbols,
});

/**
 * Where the darwin build embeds the trampolines (scripts/build-darwin.ts passes it as --asset; Bun
 * copies it to $TMPDIR and dlopens the copy: measured, shared/research/macos-review.md §8). Absent from source runs and from
 * binaries cross-built off a Mac.
 */
export const EMBEDDED_SHIM = "/$bunfs/root/libvmlan-vmnet.dylib";

/** Default: the embedded copy, else next to the executable (a cross-built binary plus the dylib). */
export const vmnetShim = lazyLibrary({
  name: "vmnet-shim",
  envVar: "VMLAN_VMNET_SHIM_PATH",
  defaultPath: existsSync(EMBEDDED_SHIM) ? EMBEDDED_SHIM : `${process.execPath.replace(/[^/]*$/, "")}libvmlan-vmnet.dylib`,
  symbols: shimSymbols,
});
