/**
 * What the broker does when accept() fails: it never exits, and keeps serving the connections it
 * has. One descriptor is kept in reserve (libev's and nginx's trick): out of descriptors (EMFILE,
 * ENFILE), it is closed, the waiting peers (up to 64 a round) accepted one at a time, told `ELIMIT`
 * and closed, and the reserve reopened, so clients learn why at once instead of hanging in the
 * backlog. When that cannot work (no reserve, or ENOBUFS/ENOMEM and other errors), the listening
 * socket is left out of poll() for a while (100 ms, doubling to 2 s, back to 100 ms after an accept
 * succeeds), so a full backlog cannot spin the loop. Failures are logged at most once per 10 s.
 */
import { libc } from "../../ffi/libc/load.ts";
import { OS } from "../../ffi/libc/os.ts";
import { acceptUnix, closeFd, sendWithFd } from "../ipc/unix-stream.ts";
import { SyscallError } from "../core/errors.ts";

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 2000;
const LOG_EVERY_MS = 10_000;
/** Waiting peers refused per round while out of descriptors; the loop then serves the others. */
const REFUSE_PER_ROUND = 64;

export class AcceptGuard {
  #reserve = -1;
  #backoff = BACKOFF_MIN_MS;
  #pausedUntil = 0;
  #failures = 0;
  #lastLog = -Infinity;

  constructor(readonly log: (m: string) => void, readonly refusal: () => Uint8Array, readonly now: () => number = Date.now) {
    this.#openReserve();
  }

  /** Whether the listening socket is left out of poll() right now. */
  paused(): boolean {
    return this.now() < this.#pausedUntil;
  }

  succeeded(): void {
    this.#backoff = BACKOFF_MIN_MS;
  }

  /** accept() threw `e`: refuse one waiting peer if descriptors ran out, then pause. */
  failed(listenFd: number, e: unknown): void {
    const code = e instanceof SyscallError ? e.code : (e as Error).message;
    const refused = code === "EMFILE" || code === "ENFILE" ? this.#refuseWaiting(listenFd) : 0;
    this.#failures++;
    if (refused === 0) {
      this.#pausedUntil = this.now() + this.#backoff;
      this.#backoff = Math.min(BACKOFF_MAX_MS, this.#backoff * 2);
    }
    if (this.now() - this.#lastLog >= LOG_EVERY_MS) {
      const then = refused > 0 ? `refusing waiting clients with ELIMIT` : `pausing new connections for ${this.#pausedUntil - this.now()} ms`;
      this.log(`accept failed (${code}); ${this.#failures} time(s) since the last report; ${then}`);
      this.#lastLog = this.now();
      this.#failures = 0;
    }
  }

  close(): void {
    closeFd(this.#reserve);
    this.#reserve = -1;
  }

  /** Accepts and refuses waiting peers on the reserve descriptor; returns how many. */
  #refuseWaiting(listenFd: number): number {
    if (this.#reserve < 0) {
      this.#openReserve(); // it may have failed to reopen last time; try again for the next round
      return 0;
    }
    closeFd(this.#reserve);
    this.#reserve = -1;
    let refused = 0;
    for (let i = 0; i < REFUSE_PER_ROUND; i++) {
      let fd: number;
      try {
        fd = acceptUnix(listenFd);
      } catch {
        break;
      }
      if (fd < 0) break; // backlog empty
      try {
        sendWithFd(fd, this.refusal());
      } catch {}
      closeFd(fd);
      refused++;
    }
    this.#openReserve();
    return refused;
  }

  #openReserve(): void {
    this.#reserve = libc().open(Buffer.from("/dev/null\0"), OS.O_RDONLY | OS.O_CLOEXEC, 0);
  }
}
