/**
 * Replaces this process's image with `path` (execve(2)): the same pid, parent, session and stdio,
 * fresh code. Every other fd is marked close-on-exec first: Bun's and ours already are, but a C
 * library's may not be (libmnl opens libnftables' netlink socket without SOCK_CLOEXEC), and each
 * would stay open, unused, in the new image. Used by the services daemon after an upgrade replaced
 * its binary (services/own-binary.ts). Returns only on failure, with the errno's name.
 */
import { readdirSync } from "node:fs";
import { errno, errnoName } from "../../ffi/errno.ts";
import { OS } from "../../ffi/libc/os.ts";
import { libcProcess } from "../../ffi/libc/process.ts";
import { fcntlInt } from "../../ffi/libc/variadic.ts";
import { cArray, cEnvironment } from "./exec-child.ts";

function closeOnExecAbove2(): void {
  for (const name of readdirSync("/proc/self/fd")) {
    const fd = Number(name);
    if (fd < 3) continue;
    const flags = fcntlInt(fd, OS.F_GETFD, 0);
    if (flags >= 0 && !(flags & OS.FD_CLOEXEC)) fcntlInt(fd, OS.F_SETFD, flags | OS.FD_CLOEXEC);
  }
}

export function reexec(path: string, argv: string[]): string {
  closeOnExecAbove2();
  const keep: Buffer[] = [];
  const file = Buffer.from(`${path}\0`);
  libcProcess().execve(file, cArray(argv, keep), cEnvironment(keep));
  void keep;
  return errnoName(errno());
}
