/**
 * Network namespaces for the CNI plugin. The trap: setns(2) moves only the calling thread, and a
 * Bun process has many threads (JSC's GC and JIT helpers, the thread pool), so the process is never
 * "in" the container's namespace. What we need is only a netlink socket there: a socket belongs to
 * the namespace it was created in, for its whole life. So the main thread enters the namespace,
 * creates the socket, and returns at once; no other call happens in between (bun:ffi calls run on
 * the JS thread, synchronously). Everything else goes over that socket. See docs/cni.md.
 */
import { statSync } from "node:fs";
import { CLONE_NEWNET, NS_GET_NSTYPE, O_CLOEXEC, O_RDONLY } from "../../../ffi/libc/constants.ts";
import { libc } from "../../../ffi/libc/load.ts";
import { check, errno, syscallError } from "../../../ffi/errno.ts";
import { HostError } from "../../core/errors.ts";
import { Netlink } from "./netlink.ts";

const SELF_NETNS = "/proc/thread-self/ns/net";

/** An fd on a namespace file (O_RDONLY is enough for setns and IFLA_NET_NS_FD). */
export function openNetns(path: string): number {
  return check("open", libc().open(Buffer.from(`${path}\0`), O_RDONLY | O_CLOEXEC, 0), path);
}

/**
 * This thread's own namespace, opened once for the process's life: every netlinkIn returns the
 * thread to it, and the services daemon enters a container's namespace on each ADD (an open of
 * /proc/thread-self less each time). netlinkIn never leaves the thread elsewhere, so the first open
 * is home.
 */
let home = -1;
function homeNetns(): number {
  if (home < 0) home = openNetns(SELF_NETNS);
  return home;
}

/** A netlink socket that lives in the namespace at `path`. The calling thread is back home on return. */
export function netlinkIn(path: string): Netlink {
  const target = openNetns(path);
  try {
    return netlinkInFd(target, path);
  } finally {
    libc().close(target);
  }
}

/** netlinkIn with the namespace already open (`fd`; `path` names it in errors), for a caller that uses the fd too. */
export function netlinkInFd(fd: number, path: string): Netlink {
  const c = libc();
  const back = homeNetns();
  check("setns", c.setns(fd, CLONE_NEWNET), path);
  try {
    return Netlink.open();
  } finally {
    if (c.setns(back, CLONE_NEWNET) !== 0) {
      // The JS thread would stay in the container's namespace: stop here rather than touch the wrong one.
      const e = syscallError("setns", errno(), SELF_NETNS);
      throw new HostError(`cannot return to the plugin's own network namespace (${e.message})`, { cause: e });
    }
  }
}

/**
 * What `path` is: this thread's network namespace (same inode on the nsfs device), another one, or
 * no network namespace at all (why, in words): a missing file, a plain file, another kind of namespace.
 */
export function netnsKind(path: string): "own" | "other" | { problem: string } {
  let a;
  try {
    a = statSync(path);
  } catch (e) {
    return { problem: (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message };
  }
  const b = statSync(SELF_NETNS);
  if (a.dev !== b.dev) return { problem: "not a namespace file" };
  if (a.ino === b.ino) return "own";
  const c = libc();
  const fd = openNetns(path);
  try {
    return c.ioctl(fd, NS_GET_NSTYPE, null) === CLONE_NEWNET ? "other" : { problem: "another kind of namespace" };
  } finally {
    c.close(fd);
  }
}
