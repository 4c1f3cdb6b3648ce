/**
 * Process identity calls for dropping root (the macOS 15 helper started through sudo, as vmnet-helper's
 * drop_privileges()). Data only; opened on first use from this OS's libc (libSystem on macOS).
 * Prototypes: <unistd.h> setuid(2), setgid(2), <unistd.h>/<grp.h> setgroups(2) (int ngroups on macOS,
 * size_t on glibc: the count is passed in a full register either way).
 */
import { FFIType, type FFIFunction } from "bun:ffi";
import { lazyLibrary } from "../load.ts";
import { OS } from "./os.ts";

const { i32, u32, ptr } = FFIType;

export const idSymbols = {
  /** int setgroups(int ngroups, const gid_t *gidset) */
  setgroups: { args: [i32, ptr], returns: i32 },
  /** int setgid(gid_t gid) */
  setgid: { args: [u32], returns: i32 },
  /** int setuid(uid_t uid) */
  setuid: { args: [u32], returns: i32 },
} as const satisfies Record<string, FFIFunction>;

export const libcIds = lazyLibrary({ name: "libc (ids)", envVar: "VMLAN_LIBC_PATH", defaultPath: OS.libcPath, symbols: idSymbols });
