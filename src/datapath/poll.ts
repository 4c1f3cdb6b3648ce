/** A one-fd poll(2) with a preallocated pollfd, so a blocked worker wakes up to check its stop flag. */
import { ptr, type Pointer } from "bun:ffi";
import { libc } from "../../ffi/libc/load.ts";
import { OS } from "../../ffi/libc/os.ts";

const { POLLERR, POLLHUP, POLLIN } = OS;
/** POLLOUT is 0x4 on Linux (asm-generic/poll.h) and macOS (sys/poll.h) alike. */
const POLLOUT = 0x4;

export const READABLE = 1;
export const TIMEOUT = 0;
/** POLLERR/POLLHUP without data: the fd's other side is gone. */
export const HANGUP = -1;

/** Two fds in one poll(2): the forwarding loop of both directions in one Worker (forward.ts forwardPair). */
export class PairPoller {
  readonly #view: DataView;
  readonly #ptr: Pointer;
  constructor(fds: readonly [number, number]) {
    const ab = new ArrayBuffer(16);
    this.#view = new DataView(ab);
    this.#ptr = ptr(ab);
    fds.forEach((fd, i) => {
      this.#view.setInt32(i * 8, fd, true);
      this.#view.setInt16(i * 8 + 4, POLLIN, true);
    });
  }

  /** Stops polling fd `i` (poll(2) skips a negative fd). */
  drop(i: number): void {
    this.#view.setInt32(i * 8, -1, true);
  }

  /** Waits up to `ms` for input on either fd; per fd: READABLE, HANGUP (gone, no data) or TIMEOUT. */
  wait(ms: number, out: Int8Array): void {
    const v = this.#view;
    v.setInt16(6, 0, true);
    v.setInt16(14, 0, true);
    const r = libc().poll(this.#ptr, 2, ms);
    for (let i = 0; i < 2; i++) {
      const revents = r > 0 ? v.getInt16(i * 8 + 6, true) : 0;
      out[i] = revents & POLLIN ? READABLE : revents & (POLLERR | POLLHUP) ? HANGUP : TIMEOUT;
    }
  }
}

export class FdPoller {
  readonly #view: DataView;
  readonly #ptr: Pointer;
  constructor(readonly fd: number) {
    const ab = new ArrayBuffer(8);
    this.#view = new DataView(ab);
    this.#ptr = ptr(ab);
  }

  /** Waits for input up to `ms`; EINTR counts as a timeout (the caller loops anyway). */
  waitReadable(ms: number): number {
    return this.#wait(POLLIN, ms);
  }

  /** Waits up to `ms` until a write can make progress (READABLE means ready); HANGUP when the peer is gone. */
  waitWritable(ms: number): number {
    return this.#wait(POLLOUT, ms);
  }

  #wait(events: number, ms: number): number {
    const v = this.#view;
    v.setInt32(0, this.fd, true);
    v.setInt16(4, events, true);
    v.setInt16(6, 0, true);
    const r = libc().poll(this.#ptr, 1, ms);
    if (r <= 0) return TIMEOUT;
    const revents = v.getInt16(6, true);
    if (revents & events) return READABLE;
    return revents & (POLLERR | POLLHUP) ? HANGUP : TIMEOUT;
  }
}
