/**
 * The services daemon's log: one line per event on stderr, which `vmlan system start` points at
 * <state dir>/services.log. Every line is escaped (core/text.ts), so nothing taken from a packet
 * (a query name, a hostname, a parser's message) can end a line or forge another. Per-packet
 * problems go through RateLimited, and every other guest-triggered line through GuestLog
 * (STYLE habit 4): never one line per packet.
 */
import { escapeControl } from "../core/text.ts";

export type Logger = (msg: string) => void;

export function logger(component: string, write: (s: string) => void = (s) => process.stderr.write(s)): Logger {
  return (msg) => write(`${new Date().toISOString()} ${component}: ${escapeControl(msg)}\n`);
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

/** Lines a server may write per kind and interval before it only counts them. */
export const GUEST_BURST = 10;
/** Distinct recent lines remembered to drop exact repeats (a client retrying every second). */
const REMEMBER = 1024;

interface Window { start: number; shown: number; held: number; latest: string }

/**
 * Guest-triggered lines (an offer, an unanswered query, a refused relay): per kind, the first
 * GUEST_BURST of an interval are written and the rest counted; when the interval is over, one
 * summary says how many were held back and shows the latest. An exact repeat within the interval
 * is dropped. A timer (unref'd) writes summaries when the flood has stopped; it runs only while an
 * interval is open, so an idle server (a daemon has two per network) has no timer waking it.
 */
export class GuestLog {
  readonly #windows = new Map<string, Window>();
  readonly #recent = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | null = null;
  readonly #timed: boolean;
  readonly burst: number;
  readonly intervalMs: number;
  readonly now: () => number;

  constructor(readonly log: Logger, o: { burst?: number; intervalMs?: number; now?: () => number; timer?: boolean } = {}) {
    this.burst = o.burst ?? GUEST_BURST;
    this.intervalMs = o.intervalMs ?? RATE_LIMIT_MS;
    this.now = o.now ?? Date.now;
    this.#timed = o.timer !== false;
  }

  /** Checked every second while an interval is open, so a summary follows its interval by at most a second. */
  #arm(): void {
    if (!this.#timed || this.#timer) return;
    this.#timer = setInterval(() => {
      this.flush();
      if (this.#windows.size === 0) this.#disarm();
    }, 1000);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #disarm(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Whether the summary timer runs (only while an interval is open). */
  get timed(): boolean {
    return this.#timer !== null;
  }

  line(kind: string, msg: string): void {
    const t = this.now();
    const seen = this.#recent.get(msg);
    if (seen !== undefined && t - seen < this.intervalMs) return;
    this.#recent.delete(msg);
    this.#recent.set(msg, t);
    if (this.#recent.size > REMEMBER) this.#recent.delete(this.#recent.keys().next().value!);
    let w = this.#windows.get(kind);
    if (w && t - w.start >= this.intervalMs) {
      this.#summarise(kind, w, t);
      w = undefined;
    }
    if (!w) {
      w = { start: t, shown: 0, held: 0, latest: "" };
      this.#windows.set(kind, w);
      this.#arm();
    }
    if (w.shown < this.burst) {
      w.shown++;
      this.log(msg);
    } else {
      w.held++;
      w.latest = msg;
    }
  }

  /** Writes the summary of every finished interval (all of them with `all`). */
  flush(all = false): void {
    const t = this.now();
    for (const [kind, w] of this.#windows) if (all || t - w.start >= this.intervalMs) this.#summarise(kind, w, t);
  }

  #summarise(kind: string, w: Window, t: number): void {
    this.#windows.delete(kind);
    if (w.held > 0) this.log(`${w.held} more ${kind} lines in the last ${Math.round((t - w.start) / 1000)} s (latest: ${w.latest})`);
  }

  /** How many distinct lines are remembered for the repeat check (bounded). */
  get remembered(): number {
    return this.#recent.size;
  }

  stop(): void {
    this.#disarm();
    this.flush(true);
  }
}
