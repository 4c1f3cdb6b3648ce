/**
 * One timer and one poll(2) for every router-advertisement server of the process. A timer per
 * server, each reading its socket every CHECK_MS, woke the daemon about 290 times a second with 200
 * dual-stack networks; one shared timer wakes it 4 times a second, polls every socket at once and
 * lets only a server with a solicitation queued read its socket.
 */
import { libc } from "../../../ffi/libc/load.ts";
import { POLLERR, POLLHUP, POLLIN } from "../../../ffi/libc/constants.ts";
import { offsetOf } from "../../../ffi/layout.ts";
import { pollfd } from "../../../ffi/libc/structs.ts";

/** What the ticker drives: a socket to watch and what to do on each tick. */
export interface Ticking {
  readonly fd: number;
  /** `readable`: the socket has something queued (or an error to read). Must not throw. */
  tick(readable: boolean): void;
}

const SIZE = pollfd.size;
const FD = offsetOf(pollfd, "fd"), EVENTS = offsetOf(pollfd, "events"), REVENTS = offsetOf(pollfd, "revents");

export class Ticker {
  readonly #members = new Set<Ticking>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #pollfds = new Uint8Array(SIZE * 16);

  constructor(readonly everyMs: number) {}

  /** Starts driving `m` (its first tick is the caller's); the timer runs while anything is added. */
  add(m: Ticking): void {
    this.#members.add(m);
    this.#timer ??= setInterval(() => this.tick(), this.everyMs);
  }

  delete(m: Ticking): void {
    this.#members.delete(m);
    if (this.#members.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  get size(): number {
    return this.#members.size;
  }

  /** One round: a poll with no wait over every member's socket, then each member's tick. */
  tick(): void {
    const members = [...this.#members];
    if (members.length === 0) return;
    if (this.#pollfds.length < members.length * SIZE) this.#pollfds = new Uint8Array(members.length * SIZE * 2);
    const v = new DataView(this.#pollfds.buffer);
    members.forEach((m, i) => {
      v.setInt32(i * SIZE + FD, m.fd, true);
      v.setInt16(i * SIZE + EVENTS, POLLIN, true);
      v.setInt16(i * SIZE + REVENTS, 0, true);
    });
    const ready = libc().poll(this.#pollfds, members.length, 0) > 0;
    members.forEach((m, i) => m.tick(ready && (v.getInt16(i * SIZE + REVENTS, true) & (POLLIN | POLLERR | POLLHUP)) !== 0));
  }
}
