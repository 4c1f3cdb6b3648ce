/**
 * What socket_vmnet_client does in C, through bun:ffi: connect a unix stream socket, then replace
 * this process with a program that finds the connected socket as fd 3 (QEMU `-netdev socket,fd=3`).
 * The program is exec'd, not spawned: it keeps this pid, as socket_vmnet_client's does, so whoever
 * started us (lima) sees and signals the program itself. Before exec, the two signals Bun ignores
 * (SIGPIPE, SIGXFSZ) go back to their default, since exec would pass "ignored" on; the program gets
 * this environment, found on PATH as execvp(3) finds it.
 */
import { libc } from "../../ffi/libc/load.ts";
import { libcUnix } from "../../ffi/libc/unix.ts";
import { OS, encodeSockaddrUn } from "../../ffi/libc/os.ts";
import { SIGPIPE, SIGXFSZ, SIG_DFL, libcProcess } from "../../ffi/libc/process.ts";
import { errno } from "../../ffi/errno.ts";
import { cArray, cEnvironment } from "../process/exec-child.ts";

/** The fd QEMU and socket_vmnet_client's users expect the socket at. */
export const SOCKET_FD = 3;
const ENOENT = 2;

/** A connected stream socket without close-on-exec, or the errno of the failing call; null when the path is too long. */
export function connectForExec(path: string): { fd: number } | { errno: number } | null {
  const sa = encodeSockaddrUn(OS, path);
  if (!sa) return null;
  const fd = libc().socket(OS.AF_UNIX, OS.SOCK_STREAM, 0);
  if (fd < 0) return { errno: errno() };
  if (libcUnix().connect(fd, sa, sa.length) < 0) {
    const e = errno();
    libc().close(fd);
    return { errno: e };
  }
  return { fd };
}

/** The C library's message for an errno (strerror(3)), as socket_vmnet_client prints it. */
export function strerror(e: number): string {
  return String(libcProcess().strerror(e));
}

/** Moves `fd` to fd 3 and execs argv. Returns only on failure, with the errno. */
export function execWithSocket(fd: number, argv: string[]): number {
  if (fd !== SOCKET_FD) {
    if (libcProcess().dup2(fd, SOCKET_FD) < 0) return errno();
    libc().close(fd);
  }
  const file = argv[0]!;
  const path = file.includes("/") ? file : Bun.which(file, { PATH: process.env.PATH ?? "/usr/bin:/bin" });
  if (!path) return ENOENT;
  const p = libcProcess();
  p.signal(SIGPIPE, SIG_DFL);
  p.signal(SIGXFSZ, SIG_DFL);
  const keep: Buffer[] = [];
  const pathBuf = Buffer.from(`${path}\0`);
  p.execve(pathBuf, cArray(argv, keep), cEnvironment(keep));
  const e = errno();
  void keep; void pathBuf;
  return e;
}
