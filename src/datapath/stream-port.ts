/**
 * The host → VM side of a stream client (`vmlan switch`): a batch of frames from the TAP goes to the
 * client's stream socket in one sendmsg() with two iovecs per frame (its 4-byte big-endian length,
 * then the frame in its FrameBatch slot): no copy, one syscall per batch.
 *
 * A stream cannot drop half a frame, so a short write is finished before anything else: the worker
 * waits for the socket to drain (poll POLLOUT, POLL_MS at a time, checking the stop flag). Only this
 * client's worker waits; meanwhile its TAP queue fills and the kernel drops what the VM does not
 * take, which is the back-pressure a slow or paused VM should get. Other clients have their own
 * workers and never notice. MSG_NOSIGNAL (SO_NOSIGPIPE on macOS, set at accept) turns a vanished
 * peer into EPIPE instead of a signal.
 */
import { ptr, type Pointer } from "bun:ffi";
import { OS } from "../../ffi/libc/os.ts";
import { libcUnix } from "../../ffi/libc/unix.ts";
import { EAGAIN, EINTR, ENOBUFS, errno, syscallError } from "../../ffi/errno.ts";
import { ECONNRESET, ENOTCONN, EPIPE } from "../../ffi/libc/datapath.ts";
import { CLOSED, type FrameBatch, type Port } from "./port.ts";
import { FdPoller, HANGUP, READABLE } from "./poll.ts";
import { POLL_MS } from "./forward.ts";

const { iovec, msghdr, MSG_DONTWAIT, MSG_NOSIGNAL } = OS;
const PEER_GONE = new Set([EPIPE, ECONNRESET, ENOTCONN]);
const IOV_OFF = msghdr.fields["msg_iov"]!.offset;
const IOVLEN = msghdr.fields["msg_iovlen"]!; // size_t on Linux, int on macOS
const HIGH = 2 ** 32;

/** A 64-bit little-endian value (an address or a length, all below 2^53) as two 32-bit stores: no BigInt on the hot path. */
function set64(v: DataView, o: number, x: number): void {
  v.setUint32(o, x % HIGH, true);
  v.setUint32(o + 4, Math.floor(x / HIGH), true);
}
const get64 = (v: DataView, o: number) => v.getUint32(o, true) + v.getUint32(o + 4, true) * HIGH;

export class StreamPort implements Port {
  readonly name: string;
  /** Times a send had to wait for the client to read. */
  retries = 0;
  readonly #fd: number;
  readonly #control: Int32Array;
  readonly #poller: FdPoller;
  readonly #view: DataView;
  readonly #msg: Pointer;
  readonly #iov: number;
  readonly #hdr: number;
  readonly #hdrOff: number;
  readonly #iovOff: number;
  readonly #slots: number[];

  constructor(fd: number, batch: FrameBatch, control: Int32Array, name = `stream fd ${fd}`) {
    this.name = name;
    this.#fd = fd;
    this.#control = control;
    this.#poller = new FdPoller(fd);
    // One buffer: msghdr, then 2 iovecs per slot, then 4 header bytes per slot. The view first, then ptr().
    const n = batch.size;
    this.#iovOff = msghdr.size;
    this.#hdrOff = this.#iovOff + 2 * n * iovec.size;
    const ab = new ArrayBuffer(this.#hdrOff + 4 * n);
    this.#view = new DataView(ab);
    const base = ptr(ab);
    this.#msg = base;
    this.#iov = base + this.#iovOff;
    this.#hdr = base + this.#hdrOff;
    this.#slots = Array.from({ length: n }, (_, i) => batch.slotPtr(i) as number);
  }

  #setIov(i: number, addr: number, len: number): void {
    const o = this.#iovOff + i * iovec.size;
    set64(this.#view, o, addr);
    set64(this.#view, o + 8, len);
  }

  #point(first: number, count: number): void {
    set64(this.#view, IOV_OFF, this.#iov + first * iovec.size);
    if (IOVLEN.size === 8) set64(this.#view, IOVLEN.offset, count);
    else this.#view.setInt32(IOVLEN.offset, count, true);
  }

  recv(): number {
    throw new Error("a StreamPort only sends; stream-ingress.ts reads the stream");
  }

  send(batch: FrameBatch, count: number): number {
    const v = this.#view;
    let total = 0;
    for (let i = 0; i < count; i++) {
      const len = batch.lens[i]!;
      v.setUint32(this.#hdrOff + 4 * i, len, false);
      this.#setIov(2 * i, this.#hdr + 4 * i, 4);
      this.#setIov(2 * i + 1, this.#slots[i]!, len);
      total += 4 + len;
    }
    const iovs = 2 * count;
    let first = 0;
    let sent = 0;
    while (sent < total) {
      this.#point(first, iovs - first);
      const r = Number(libcUnix().sendmsg(this.#fd, this.#msg, MSG_DONTWAIT | MSG_NOSIGNAL));
      if (r > 0) {
        sent += r;
        if (sent < total) first = this.#consume(first, r);
        continue;
      }
      const e = errno();
      if (e === EINTR) continue;
      if (PEER_GONE.has(e)) return CLOSED;
      if (e !== EAGAIN && e !== ENOBUFS) throw syscallError("sendmsg", e, this.name);
      this.retries++;
      const w = this.#waitWritable();
      if (w === HANGUP) return CLOSED;
      if (w !== READABLE) return this.#framesWithin(batch, count, sent); // stopping
    }
    return count;
  }

  /** Skips `r` written bytes from iovec `first` on; a partly written iovec is advanced in place. */
  #consume(first: number, r: number): number {
    const v = this.#view;
    let i = first;
    while (r > 0) {
      const o = this.#iovOff + i * iovec.size;
      const len = get64(v, o + 8);
      if (r >= len) {
        r -= len;
        i++;
        continue;
      }
      set64(v, o, get64(v, o) + r);
      set64(v, o + 8, len - r);
      r = 0;
    }
    return i;
  }
  /** Waits (POLL_MS at a time) until the client takes more, or the stop flag is set. */
  #waitWritable(): number {
    for (;;) {
      if (Atomics.load(this.#control, 0) !== 0) return 0;
      const w = this.#poller.waitWritable(POLL_MS);
      if (w !== 0) return w;
    }
  }

  /** Frames completely written when `sent` bytes of the batch went out. */
  #framesWithin(batch: FrameBatch, count: number, sent: number): number {
    let done = 0;
    for (let i = 0; i < count && sent >= 4 + batch.lens[i]!; i++) {
      sent -= 4 + batch.lens[i]!;
      done++;
    }
    return done;
  }
}
