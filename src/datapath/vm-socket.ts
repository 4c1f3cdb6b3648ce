/**
 * The VM socket in --socket mode, as vmnet-helper's create_socket: a unix datagram socket bound at
 * PATH (mode 0600), an exclusive flock on PATH.lock held for the helper's lifetime, and the first
 * client that sends a datagram becomes the peer (recvfrom MSG_PEEK gives its address, then connect).
 * A first datagram shorter than an Ethernet header is vfkit/krunkit's 4-byte "VFKT" greeting: dropped.
 * A socket left by a dead helper (lock not held, nobody serving it) is replaced; a live helper's, or
 * anything that is not a socket, is refused (socket-path.ts).
 */
import { chmodSync, lstatSync, type Stats } from "node:fs";
import { ptr, type Pointer } from "bun:ffi";
import { libc } from "../../ffi/libc/load.ts";
import { OS, encodeSockaddrUn } from "../../ffi/libc/os.ts";
import { emulateSocketFlags } from "../../ffi/libc/variadic.ts";
import { EAGAIN, check, errno, syscallError } from "../../ffi/errno.ts";
import { MSG_PEEK, SOCKADDR_UN_SIZE, SUN_PATH_MAX, libcDatapath } from "../../ffi/libc/datapath.ts";
import { UsageError } from "../core/errors.ts";
import { checkSocketPath, clearStaleSocket, lockSocketPath, unlinkIfSame } from "./socket-path.ts";
import { FdPoller, READABLE } from "./poll.ts";

/** vmnet-helper RECV_BUFFER_SIZE: 4 MiB makes a peer's ENOBUFS rarer (2 MiB measured as sufficient). */
export const RECV_BUFFER_SIZE = 4 * 1024 * 1024;
/** vmnet-helper SEND_BUFFER_SIZE: 65 KiB, above the largest (TSO) frame of 65550 bytes. */
export const SEND_BUFFER_SIZE = 65 * 1024;
const { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF, SO_SNDBUF, MSG_DONTWAIT, MSG_TRUNC } = OS;
const ETH_HEADER = 14;

/** Sets the vmnet-helper buffer sizes; a failure only weakens throughput, so it is not fatal. */
export function setBufferSizes(fd: number): void {
  const c = libc();
  c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, new Int32Array([RECV_BUFFER_SIZE]), 4);
  c.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, new Int32Array([SEND_BUFFER_SIZE]), 4);
}

/**
 * A connected AF_UNIX datagram pair (one frame per datagram) with the vmnet-helper buffer sizes on
 * both ends: the VM's end goes to the hypervisor, the other to a helper or a vmnet port. Close-on-exec;
 * pass an end to a child through its stdio array.
 */
export function vmSocketpair(): [number, number] {
  const sv = new Int32Array(2);
  check("socketpair", libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), "AF_UNIX SOCK_DGRAM");
  for (const fd of sv) {
    emulateSocketFlags(fd, true, false);
    setBufferSizes(fd);
  }
  return [sv[0]!, sv[1]!];
}

function sockaddrUn(path: string): Uint8Array {
  const enc = new TextEncoder().encode(path);
  if (enc.length > SUN_PATH_MAX - 4) throw new UsageError(`socket path too long (${enc.length} bytes, at most ${SUN_PATH_MAX - 4}): ${path}`);
  return encodeSockaddrUn(OS, path)!;
}

/** An address a reply can go to: longer than the family (Linux), and on macOS a non-empty path. */
function answerable(addr: Uint8Array, alen: number): boolean {
  if (OS.name === "darwin") return alen > 2 && addr[2] !== 0;
  return alen > 2;
}

export interface VmSocket {
  readonly fd: number;
  readonly path: string;
  /** Closes the socket and removes PATH and PATH.lock. Idempotent. */
  close(): void;
}

/**
 * Binds the VM socket at `path` (see socket-path.ts for what may sit there). The checks that need no
 * lock come first, so a bad path fails before PATH.lock is created; on any failure nothing of ours is
 * left behind.
 */
export function bindVmSocket(path: string, flag = "--socket"): VmSocket {
  const sa = sockaddrUn(path);
  checkSocketPath(path, flag);
  const lock = lockSocketPath(path, flag);
  const c = libc();
  let fd = -1;
  let bound: Stats | null = null;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (fd >= 0) c.close(fd);
    unlinkIfSame(path, bound); // only the socket we bound, never a file that replaced it
    lock.release();
  };
  try {
    clearStaleSocket(path, flag);
    fd = check("socket", c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "AF_UNIX");
    emulateSocketFlags(fd, true, false);
    setBufferSizes(fd);
    check("bind", c.bind(fd, sa, sa.length), path);
    bound = lstatSync(path);
    chmodSync(path, 0o600);
    return { fd, path, close };
  } catch (e) {
    close();
    throw e;
  }
}

/**
 * Waits for the first client datagram and connects to its sender. Polls in short slices so the
 * main thread keeps handling signals; returns false when `stopping()` turned true first.
 */
export async function connectFirstPeer(fd: number, stopping: () => boolean): Promise<boolean> {
  const c = libc();
  const poller = new FdPoller(fd);
  const ab = new ArrayBuffer(SOCKADDR_UN_SIZE + 4 + 64);
  const addr = new Uint8Array(ab, 0, SOCKADDR_UN_SIZE);
  const lenView = new DataView(ab, SOCKADDR_UN_SIZE, 4);
  const peek = new Uint8Array(ab, SOCKADDR_UN_SIZE + 4, 64);
  const base = ptr(ab);
  const at = (off: number) => (base + off) as Pointer;
  while (!stopping()) {
    if (poller.waitReadable(0) !== READABLE) {
      await Bun.sleep(20);
      continue;
    }
    lenView.setUint32(0, SOCKADDR_UN_SIZE, true);
    const n = Number(c.recvfrom(fd, at(SOCKADDR_UN_SIZE + 4), peek.length, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT, base, at(SOCKADDR_UN_SIZE)));
    if (n < 0) {
      if (errno() === EAGAIN) continue;
      throw syscallError("recvfrom", errno(), "VM socket");
    }
    const alen = lenView.getUint32(0, true);
    if (!answerable(addr, alen)) {
      // An unbound client cannot be answered; vmnet-helper's clients bind their own path. Skip it.
      c.recv(fd, at(SOCKADDR_UN_SIZE + 4), peek.length, MSG_DONTWAIT);
      process.stderr.write("vmlan helper: ignoring a datagram from an unbound client socket (clients must bind their own path)\n");
      continue;
    }
    check("connect", libcDatapath().connect(fd, addr, alen), "VM peer");
    if (n < ETH_HEADER) c.recv(fd, at(SOCKADDR_UN_SIZE + 4), peek.length, MSG_DONTWAIT); // the "VFKT" greeting
    return true;
  }
  return false;
}
