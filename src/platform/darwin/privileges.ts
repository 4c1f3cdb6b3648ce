/**
 * macOS 15 and older: vmnet needs root, so `vmlan helper` runs under sudo. Once its vmnet interface
 * has started it needs root no more, and drops to the invoking user like vmnet-helper's
 * drop_privileges() (native-facts §C 1.5): the ids from SUDO_UID/SUDO_GID, else the real ids; setgid
 * before setuid (after setuid a process can no longer change its group). vmlan also resets the
 * supplementary groups to that one gid first (root's would otherwise stay). Only when euid is 0 and
 * only on macOS; the vmnet double on Linux never drops. The broker keeps root: it starts interfaces
 * for as long as it runs.
 */
import { PermissionError } from "../../core/errors.ts";
import { errno, errnoName } from "../../../ffi/errno.ts";
import { libcIds } from "../../../ffi/libc/ids.ts";

export interface DropTarget { uid: number; gid: number }

export interface Identity {
  platform: string;
  euid: number;
  uid: number;
  gid: number;
  env: Record<string, string | undefined>;
}

function parseId(s: string | undefined): number | null {
  if (s === undefined || !/^\d+$/.test(s)) return null;
  const n = Number(s);
  return n <= 0xfffffffe ? n : null;
}

/** Pure: whom to become, or null to keep the current identity. */
export function dropTarget(id: Identity): DropTarget | null {
  if (id.platform !== "darwin" || id.euid !== 0) return null;
  const sudoUid = parseId(id.env.SUDO_UID);
  const sudoGid = parseId(id.env.SUDO_GID);
  // Both or neither: half a sudo environment is not trusted (fall back to the real ids).
  const uid = sudoUid !== null && sudoGid !== null ? sudoUid : id.uid;
  const gid = sudoUid !== null && sudoGid !== null ? sudoGid : id.gid;
  return uid === 0 ? null : { uid, gid };
}

export function currentIdentity(): Identity {
  return { platform: process.platform, euid: process.geteuid?.() ?? -1, uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, env: process.env };
}

/** Drops root after the vmnet interface started; returns the new ids, or null when nothing changed. */
export function dropPrivileges(log: (m: string) => void, id: Identity = currentIdentity()): DropTarget | null {
  const t = dropTarget(id);
  if (!t) return null;
  const ids = libcIds();
  const fail = (call: string) => new PermissionError(`${call} failed while dropping root to uid ${t.uid} gid ${t.gid}: ${errnoName(errno())}`);
  if (ids.setgroups(1, new Uint32Array([t.gid])) !== 0) throw fail("setgroups");
  if (ids.setgid(t.gid) !== 0) throw fail("setgid");
  if (ids.setuid(t.uid) !== 0) throw fail("setuid");
  if (ids.setuid(0) === 0) throw new PermissionError("dropping root did not stick: setuid(0) succeeded afterwards");
  log(`dropped privileges to uid: ${t.uid} gid: ${t.gid}`);
  return t;
}
