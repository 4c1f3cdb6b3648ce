/**
 * How a datagram batch is received and sent, per OS (ffi/libc/os.ts): Linux recvmmsg/sendmmsg over
 * mmsghdr[]; macOS recvmsg_x/sendmsg_x over msghdr_x[] (private libSystem API, native-facts §A 5.5), or,
 * when those symbols are missing, one recvmsg/sendmsg per datagram over the same array (a msghdr_x
 * starts with a struct msghdr). Every call returns a datagram count, or -1 with errno set.
 */
import type { Pointer } from "bun:ffi";
import { libc } from "../../ffi/libc/load.ts";
import { msgX, type MsgX } from "../../ffi/libc/msg-x.ts";
import { OS, type LibcOs } from "../../ffi/libc/os.ts";

export type BatchMode = "mmsg" | "msg_x" | "per-datagram";

/** Pure: which mode `os` gets with these msg_x symbols (null: missing). */
export function chooseBatchMode(os: LibcOs, x: Pick<MsgX, "recvmsg_x" | "sendmsg_x"> | null): BatchMode {
  if (os.batch === "mmsg") return "mmsg";
  return x ? "msg_x" : "per-datagram";
}

/**
 * The fallback loop, pure: calls `one(i)` for i = 0..n-1 until it fails; `one` returns bytes moved or
 * -1. Returns the datagrams done, or -1 when the first one failed (errno is still that call's).
 * `setLen(i, bytes)` records a received length where recvmsg_x would have put msg_datalen.
 */
export function perDatagram(n: number, one: (i: number) => number, setLen?: (i: number, bytes: number) => void): number {
  for (let i = 0; i < n; i++) {
    const r = one(i);
    if (r < 0) return i > 0 ? i : -1;
    setLen?.(i, r);
  }
  return n;
}

export interface BatchIo {
  readonly mode: BatchMode;
  readonly os: LibcOs;
  /** Bytes per batch entry (mmsghdr or msghdr_x). */
  readonly stride: number;
  recv(fd: number, msgs: Pointer, n: number, flags: number): number;
  send(fd: number, msgs: Pointer, n: number, flags: number): number;
}

/** The batch calls for this process; `view` is the DataView over the entries (for fallback lengths). */
export function batchIo(view: DataView, os: LibcOs = OS, x: MsgX | null = os.batch === "msg_x" ? msgX() : null): BatchIo {
  const stride = os.batchHdr.size;
  const mode = chooseBatchMode(os, x);
  const lenOff = os.batchHdr.fields[os.batchLenField]!.offset;
  const at = (msgs: Pointer, i: number) => (msgs + i * stride) as Pointer;
  if (mode === "mmsg") {
    return {
      mode, os, stride,
      recv: (fd, msgs, n, flags) => libc().recvmmsg(fd, msgs, n, flags, null),
      send: (fd, msgs, n, flags) => libc().sendmmsg(fd, msgs, n, flags),
    };
  }
  if (mode === "msg_x") {
    return { mode, os, stride, recv: (fd, msgs, n, flags) => Number(x!.recvmsg_x(fd, msgs, n, flags)), send: (fd, msgs, n, flags) => Number(x!.sendmsg_x(fd, msgs, n, flags)) };
  }
  return {
    mode, os, stride,
    recv: (fd, msgs, n, flags) => perDatagram(n, (i) => Number(libc().recvmsg(fd, at(msgs, i), flags)), (i, b) => view.setBigUint64(i * stride + lenOff, BigInt(b), true)),
    send: (fd, msgs, n, flags) => perDatagram(n, (i) => Number(libc().sendmsg(fd, at(msgs, i), flags))),
  };
}
