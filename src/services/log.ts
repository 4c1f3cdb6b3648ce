/**
 * The services daemon's log: one line per event on stderr, which `vmlan system start` points at
 * <state dir>/services.log. Per-packet problems go through RateLimited (STYLE habit 4), never one
 * line per packet.
 */
export type Logger = (msg: string) => void;

export function logger(component: string, write: (s: string) => void = (s) => process.stderr.write(s)): Logger {
  return (msg) => write(`${new Date().toISOString()} ${component}: ${msg}\n`);
}

/** Ten seconds: a flood of bad packets costs at most one line per component per interval. */
export const RATE_LIMIT_MS = 10_000;

/** Counts events; logs the first at once, then at most one summary per interval. */
export class RateLimited {
  #count = 0;
  #total = 0;
  #last = -Infinity;
  constructor(readonly log: Logger, readonly what: string, readonly intervalMs = RATE_LIMIT_MS, readonly now: () => number = Date.now) {}

  hit(detail: string): void {
    this.#count++;
    this.#total++;
    const t = this.now();
    if (t - this.#last < this.intervalMs) return;
    this.log(`${this.#count} ${this.what} ignored${this.#last === -Infinity ? "" : ` in the last ${Math.round((t - this.#last) / 1000)} s`} (latest: ${detail})`);
    this.#count = 0;
    this.#last = t;
  }

  get total(): number {
    return this.#total;
  }
}
