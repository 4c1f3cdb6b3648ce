/**
 * The host-side port on Linux: a TAP fd (IFF_TAP | IFF_NO_PI), one frame per read()/write(). A TAP has
 * no recvmmsg, so a batch is up to batch.size non-blocking reads per wakeup. Knows only the fd; the
 * TAP itself is opened by the platform (src/platform/linux/tap.ts) and handed in as a number.
 * With `header` bytes (an offload TAP's virtio-net header), each read and write also covers that many
 * bytes right before the frame, in the batch's headroom; what the header says is datapath/offload/'s.
 */
import type { Pointer } from "bun:ffi";
import { libc } from "../../ffi/libc/load.ts";
import { OS } from "../../ffi/libc/os.ts";
import { fcntlInt } from "../../ffi/libc/variadic.ts";
import { EAGAIN, EINTR, check, errno, syscallError } from "../../ffi/errno.ts";
import { F_GETFL, F_SETFL } from "../../ffi/libc/datapath.ts";
import { CLOSED, type FrameBatch, type Port } from "./port.ts";
import { FdPoller, HANGUP, READABLE } from "./poll.ts";

/** EBADFD (77) / ENODEV-like errors mean the device is gone. */
const DEVICE_GONE = new Set([77, 19, 6]);

export class FrameFdPort implements Port {
  readonly name: string;
  readonly retries = 0;
  readonly #fd: number;
  readonly #poller: FdPoller;
  readonly #header: number;

  constructor(fd: number, name = `fd ${fd}`, header = 0) {
    this.name = name;
    this.#fd = fd;
    this.#poller = new FdPoller(fd);
    this.#header = header;
  }

  /** Reads must not block (the worker checks its stop flag between polls); writes to a TAP never wait anyway. */
  static setNonBlocking(fd: number): void {
    const flags = check("fcntl", fcntlInt(fd, F_GETFL, 0), `fd ${fd}`);
    check("fcntl", fcntlInt(fd, F_SETFL, flags | OS.O_NONBLOCK), `fd ${fd}`);
  }

  recv(batch: FrameBatch, waitMs: number): number {
    const c = libc();
    const hdr = this.#header;
    let n = 0;
    let polled = false;
    while (n < batch.size) {
      const r = Number(c.read(this.#fd, (batch.slotPtr(n) - hdr) as Pointer, batch.slotSize + hdr));
      if (r > hdr) {
        batch.lens[n++] = r - hdr;
        continue;
      }
      if (r > 0) continue; // a header without a frame: nothing to forward
      if (r === 0) return n > 0 ? n : CLOSED;
      const e = errno();
      if (e === EINTR) continue;
      if (e !== EAGAIN) {
        if (n > 0) return n;
        if (DEVICE_GONE.has(e)) return CLOSED;
        throw syscallError("read", e, this.name);
      }
      if (n > 0 || polled || waitMs <= 0) return n; // waitMs 0: the caller polls (forwardPair: both fds at once)
      polled = true;
      const p = this.#poller.waitReadable(waitMs);
      if (p === HANGUP) return CLOSED;
      if (p !== READABLE) return 0;
    }
    return n;
  }

  send(batch: FrameBatch, count: number): number {
    const c = libc();
    const hdr = this.#header;
    let delivered = 0;
    for (let i = 0; i < count; i++) {
      const len = batch.lens[i]! + hdr;
      const at = (batch.slotPtr(i) - hdr) as Pointer;
      let r = Number(c.write(this.#fd, at, len));
      if (r < 0 && errno() === EINTR) r = Number(c.write(this.#fd, at, len));
      if (r === len) delivered++;
      else if (r < 0 && DEVICE_GONE.has(errno())) return CLOSED;
    }
    return delivered;
  }
}
