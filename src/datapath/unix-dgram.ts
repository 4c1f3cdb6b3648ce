/**
 * The VM-side port: a unix datagram socket, one Ethernet frame per datagram (the format of
 * VZFileHandleNetworkDeviceAttachment, libkrun unixgram and qemu -netdev dgram). Batches with
 * recvmmsg/sendmmsg (Linux) or recvmsg_x/sendmsg_x (macOS, else one datagram per call; batch-io.ts):
 * one mmsghdr/msghdr_x + iovec per slot of the FrameBatch, laid out once.
 *
 * Toward the VM a full receive queue (EAGAIN/ENOBUFS) is retried RETRY_MAX times RETRY_DELAY_US
 * apart, then the rest of the batch is dropped and counted: vmnet-helper's bounded retries
 * (PR #278), which avoid head-of-line blocking and keep SIGTERM prompt. On Linux, datagrams queued
 * at the VM stay charged to our SO_SNDBUF; that is the limit between peers connected to each other
 * (socketpair, or --socket after connect()), otherwise net.unix.max_dgram_qlen (default 10) is.
 */
import { ptr, type Pointer } from "bun:ffi";
import { OS } from "../../ffi/libc/os.ts";
import { write } from "../../ffi/layout.ts";
import { EAGAIN, EINTR, ENOBUFS, errno, syscallError } from "../../ffi/errno.ts";
import { ECONNREFUSED, ECONNRESET, ENOTCONN, EPIPE, libcDatapath } from "../../ffi/libc/datapath.ts";
import { CLOSED, type FrameBatch, type Port } from "./port.ts";
import { FdPoller, HANGUP, READABLE } from "./poll.ts";
import { batchIo, type BatchIo } from "./batch-io.ts";

const { MSG_DONTWAIT, MSG_TRUNC, iovec, batchHdr } = OS;

/** vmnet-helper VM_RETRY_MAX: retries per batch toward the VM. */
export const RETRY_MAX = 10;
/** vmnet-helper VM_RETRY_DELAY: 50 µs; one retry sufficed in 72% of its measured cases. */
export const RETRY_DELAY_US = 50;

const PEER_GONE = new Set([ECONNREFUSED, ECONNRESET, ENOTCONN, EPIPE]);

/**
 * A received datagram's length, or `slotSize` when it may have been cut to the slot: the caller
 * drops slot-sized frames as oversized (slots are larger than any frame the port accepts). By length,
 * because only recvmmsg reports MSG_TRUNC per message: xnu's recvmsg_x leaves each msghdr_x's
 * msg_flags 0 and puts MSG_TRUNC in the call's flags (bsd/kern/uipc_syscalls.c), while msg_datalen
 * is the bytes copied, never more than the slot.
 */
export function receivedLength(len: number, flags: number, slotSize: number): number {
  return flags & MSG_TRUNC || len >= slotSize ? slotSize : len;
}

/** The iov_len of the iovec at byte `iov` of `view` (a module function, not a #method: no-ftl.ts marks it). */
export function setIovLen(view: DataView, iov: number, len: number): void {
  view.setUint32(iov + 8, len, true);
  view.setUint32(iov + 12, 0, true);
}

export class DgramPort implements Port {
  readonly name: string;
  retries = 0;
  readonly #fd: number;
  readonly #view: DataView;
  readonly #msgs: Pointer;
  readonly #poller: FdPoller;
  readonly #stride = batchHdr.size;
  readonly #lenOff = batchHdr.fields[OS.batchLenField]!.offset;
  readonly #flagsOff = batchHdr.fields["msg_hdr.msg_flags"]!.offset;
  readonly #iovBase: number;
  readonly #io: BatchIo;

  constructor(fd: number, batch: FrameBatch, name = `socket fd ${fd}`) {
    this.name = name;
    this.#fd = fd;
    this.#poller = new FdPoller(fd);
    const n = batch.size;
    // mmsghdr[n] (msghdr_x[n] on macOS) then iovec[n] in one buffer; views first, then the single ptr().
    const ab = new ArrayBuffer(n * (batchHdr.size + iovec.size));
    this.#view = new DataView(ab);
    const base = ptr(ab);
    this.#msgs = base;
    this.#iovBase = n * batchHdr.size;
    this.#io = batchIo(this.#view);
    const v = this.#view;
    for (let i = 0; i < n; i++) {
      const m = i * batchHdr.size;
      const io = this.#iovBase + i * iovec.size;
      write(batchHdr, v, "msg_hdr.msg_iov", BigInt(base + io), m);
      write(batchHdr, v, "msg_hdr.msg_iovlen", 1, m);
      v.setBigUint64(io, BigInt(batch.slotPtr(i)), true);
      setIovLen(v, io, batch.slotSize);
    }
  }

  recv(batch: FrameBatch, waitMs: number): number {
    const io = this.#io;
    for (let attempt = 0; attempt < 2; attempt++) {
      const n = io.recv(this.#fd, this.#msgs, batch.size, MSG_DONTWAIT);
      if (n > 0) {
        const v = this.#view;
        for (let i = 0; i < n; i++) {
          const m = i * this.#stride;
          // The low half of msg_datalen on macOS (frames are < 4 GiB).
          batch.lens[i] = receivedLength(v.getUint32(m + this.#lenOff, true), v.getInt32(m + this.#flagsOff, true), batch.slotSize);
        }
        return n;
      }
      if (n === 0) return CLOSED;
      const e = errno();
      if (PEER_GONE.has(e)) return CLOSED;
      if (e !== EAGAIN && e !== EINTR) throw syscallError(io.mode === "mmsg" ? "recvmmsg" : "recvmsg_x", e, this.name);
      if (attempt === 0) {
        if (waitMs <= 0) return 0; // the caller polls (forwardPair: both fds at once)
        const r = this.#poller.waitReadable(waitMs);
        if (r === HANGUP) return CLOSED;
        if (r !== READABLE) return 0;
      }
    }
    return 0;
  }

  send(batch: FrameBatch, count: number): number {
    const v = this.#view;
    for (let i = 0; i < count; i++) setIovLen(v, this.#iovBase + i * iovec.size, batch.lens[i]!);
    const io = this.#io;
    let sent = 0;
    let delivered = 0;
    let budget = RETRY_MAX;
    while (sent < count) {
      const n = io.send(this.#fd, (this.#msgs + sent * this.#stride) as Pointer, count - sent, MSG_DONTWAIT);
      if (n > 0) {
        sent += n;
        delivered += n;
        continue;
      }
      const e = errno();
      if (PEER_GONE.has(e)) return CLOSED;
      if ((e === EAGAIN || e === ENOBUFS || e === EINTR) && budget > 0) {
        budget--;
        this.retries++;
        libcDatapath().usleep(RETRY_DELAY_US);
        continue;
      }
      if (e === EAGAIN || e === ENOBUFS) break; // budget spent: the rest of the batch is dropped
      sent++; // any other error (EMSGSIZE, ...) drops just this frame
    }
    return delivered;
  }
}
