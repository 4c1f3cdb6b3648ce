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
import { SO_RCVBUFFORCE, SO_SNDBUFFORCE } from "../../ffi/libc/constants.ts";
import { emulateSocketFlags } from "../../ffi/libc/variadic.ts";
import { EAGAIN, check, errno, syscallError } from "../../ffi/errno.ts";
import { MSG_PEEK, SOCKADDR_UN_SIZE, SUN_PATH_MAX, libcDatapath } from "../../ffi/libc/datapath.ts";
import { UsageError } from "../core/errors.ts";
import { checkSocketPath, clearStaleSocket, lockSocketPath, unlinkIfSame } from "./socket-path.ts";
import { FdPoller, READABLE } from "./poll.ts";

/** vmnet-helper RECV_BUFFER_SIZE: 4 MiB makes a peer's ENOBUFS rarer (2 MiB measured as sufficient). */
export const RECV_BUFFER_SIZE = 4 * 1024 * 1024;
/** vmnet-helper RECV_BUFFER_SIZE_OFFLOAD (with --enable-tso): 8 MiB, about 2 ms of 64 KiB frames. */
export const RECV_BUFFER_SIZE_OFFLOAD = 8 * 1024 * 1024;
/** vmnet-helper SEND_BUFFER_SIZE: 65 KiB, above the largest (TSO) frame of 65550 bytes. */
export const SEND_BUFFER_SIZE = 65 * 1024;
/**
 * The send buffer with offload on Linux. There, unlike on macOS (where it only caps a datagram's
 * size), datagrams queued at the peer are charged to the sender's SO_SNDBUF, so 65 KiB would let
 * one 64 KiB frame wait at the VM at a time; libkrun uses 7 MiB on Linux for the same reason
 * (devices/src/virtio/net/unixgram.rs). 8 MiB matches the receive side.
 */
export const SEND_BUFFER_SIZE_OFFLOAD_LINUX = 8 * 1024 * 1024;
const { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF, SO_SNDBUF, MSG_DONTWAIT, MSG_TRUNC } = OS;
const ETH_HEADER = 14;
/** How long a new helper tries again for a --socket lock someone holds (bindVmSocket says why). */
const TIDIER_WAIT_MS = 200;

/** The sizes vmnet-helper sets on a VM socket, and with offload (--enable-tso) the larger ones. */
export function bufferSizes(offload = false): { recv: number; send: number } {
  return {
    recv: offload ? RECV_BUFFER_SIZE_OFFLOAD : RECV_BUFFER_SIZE,
    send: offload && OS.name === "linux" ? SEND_BUFFER_SIZE_OFFLOAD_LINUX : SEND_BUFFER_SIZE,
  };
}

/**
 * Sets a socket buffer: on Linux past net.core.[rw]mem_max when this process may (SO_*BUFFORCE,
 * CAP_NET_ADMIN), else as far as those limits allow. A failure only weakens throughput, so it is
 * not fatal.
 */
function setBuffer(fd: number, opt: number, force: number, bytes: number): void {
  const v = new Int32Array([bytes]);
  if (OS.name === "linux" && libc().setsockopt(fd, SOL_SOCKET, force, v, 4) === 0) return;
  libc().setsockopt(fd, SOL_SOCKET, opt, v, 4);
}

/** Sets the vmnet-helper buffer sizes (bufferSizes). */
export function setBufferSizes(fd: number, offload = false): void {
  const { recv, send } = bufferSizes(offload);
  setBuffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, recv);
  setBuffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, send);
}

/**
 * With offload on Linux, an inherited socket's (--fd) send buffer is raised to
 * SEND_BUFFER_SIZE_OFFLOAD_LINUX when smaller: the caller sized it for macOS's meaning (vmnet-run's
 * 65 KiB), which on Linux holds one 64 KiB frame toward the VM. Never lowered; a no-op elsewhere.
 */
export function growSendBuffer(fd: number): void {
  if (OS.name !== "linux") return;
  const cur = new Int32Array(1);
  const len = new Uint32Array([4]);
  if (libc().getsockopt(fd, SOL_SOCKET, SO_SNDBUF, cur, len) === 0 && cur[0]! / 2 >= SEND_BUFFER_SIZE_OFFLOAD_LINUX) return; // Linux reports twice the size set
  setBuffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, SEND_BUFFER_SIZE_OFFLOAD_LINUX);
}

/**
 * A connected AF_UNIX datagram pair (one frame per datagram) with the vmnet-helper buffer sizes on
 * both ends (`offload`: for 64 KiB frames): the VM's end goes to the hypervisor, the other to a
 * helper or a vmnet port. Close-on-exec; pass an end to a child through its stdio array.
 */
export function vmSocketpair(offload = false): [number, number] {
  const sv = new Int32Array(2);
  check("socketpair", libc().socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), "AF_UNIX SOCK_DGRAM");
  for (const fd of sv) {
    emulateSocketFlags(fd, true, false);
    setBufferSizes(fd, offload);
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
export function bindVmSocket(path: string, flag = "--socket", offload = false): VmSocket {
  const sa = sockaddrUn(path);
  checkSocketPath(path, flag);
  // The services daemon tidies a helper's --socket once its connection closes (a dead helper leaves
  // the files): it holds the lock for a moment, so a helper started on the same path right after
  // the last one exited may find it taken. A live helper holds it for its whole life.
  const lock = lockSocketPath(path, flag, TIDIER_WAIT_MS);
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
    setBufferSizes(fd, offload);
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
