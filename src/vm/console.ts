/**
 * A program's side of a guest's serial console: lines in, shell commands out. The vmlan guest runs
 * a shell with no prompt and no echo on the console (src/vm/guest-init.ts), so a command written
 * with a unique end marker can be matched to its output and exit code.
 */
import { READY_MARKER } from "./guest-init.ts";

export interface ConsoleIo {
  stdout: ReadableStream<Uint8Array>;
  stdin: { write(data: string): unknown; flush?(): unknown };
}

export class GuestConsole {
  readonly lines: string[] = [];
  #partial = "";
  #closed = false;
  #waiters: (() => void)[] = [];
  #seq = 0;

  constructor(readonly io: ConsoleIo, readonly onLine?: (line: string) => void) {
    void this.#pump();
  }

  async #pump(): Promise<void> {
    const dec = new TextDecoder();
    try {
      for await (const chunk of this.io.stdout) {
        const parts = (this.#partial + dec.decode(chunk, { stream: true })).split(/\r?\n/);
        this.#partial = parts.pop() ?? "";
        for (const p of parts) {
          this.lines.push(p);
          this.onLine?.(p);
        }
        for (const w of this.#waiters.splice(0)) w();
      }
    } finally {
      this.#closed = true;
      for (const w of this.#waiters.splice(0)) w();
    }
  }

  /** Index and match of the first line at or after `from` matching `re`; throws on timeout or console end. */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<{ index: number; match: RegExpMatchArray }> {
    const end = Date.now() + timeoutMs;
    for (let i = from; ; ) {
      for (; i < this.lines.length; i++) {
        const m = this.lines[i]!.match(re);
        if (m) return { index: i, match: m };
      }
      if (this.#closed) throw new Error(`guest console closed before ${re} (last lines: ${this.lines.slice(-5).join(" | ")})`);
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re} (last lines: ${this.lines.slice(-5).join(" | ")})`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  /** Waits for /init's ready line; returns the addresses it reports. */
  async ready(timeoutMs = 60_000): Promise<string[]> {
    const { match } = await this.waitFor(new RegExp(`${READY_MARKER} (.*)$`), timeoutMs);
    return match[1]!.trim().split(/\s+/).slice(1);
  }

  /** Runs a shell command in the guest; output lines (stderr merged) and exit code. */
  async run(cmd: string, timeoutMs = 30_000): Promise<{ code: number; output: string[] }> {
    const id = `${process.pid}x${++this.#seq}`;
    const from = this.lines.length;
    this.io.stdin.write(`(${cmd}) 2>&1; echo "@@vmlan-rc-${id}=$?@@"\n`);
    this.io.stdin.flush?.();
    const { index, match } = await this.waitFor(new RegExp(`@@vmlan-rc-${id}=(\\d+)@@`), timeoutMs, from);
    return { code: Number(match[1]), output: this.lines.slice(from, index) };
  }
}
