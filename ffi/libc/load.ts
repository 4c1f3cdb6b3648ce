/**
 * libc, opened on first use: glibc's soname on Linux, /usr/lib/libSystem.B.dylib on macOS (ffi/libc/os.ts
 * picks). VMLAN_LIBC_PATH overrides the path.
 */
import { lazyLibrary } from "../load.ts";
import { OS } from "./os.ts";
import { darwinSymbols, linuxSymbols, type LibcSymbols } from "./symbols.ts";

export const libc = lazyLibrary({
  name: "libc",
  envVar: "VMLAN_LIBC_PATH",
  defaultPath: OS.libcPath,
  // Only this OS's table is bound (a symbol missing from the library fails the whole dlopen).
  symbols: (process.platform === "darwin" ? darwinSymbols : linuxSymbols) as LibcSymbols,
});
