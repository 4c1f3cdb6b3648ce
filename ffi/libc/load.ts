/** libc, opened on first use. VMLAN_LIBC_PATH overrides the path (glibc's soname by default). */
import { lazyLibrary } from "../load.ts";
import { libcSymbols } from "./symbols.ts";

export const libc = lazyLibrary({
  name: "libc",
  envVar: "VMLAN_LIBC_PATH",
  defaultPath: "libc.so.6",
  symbols: libcSymbols,
});
