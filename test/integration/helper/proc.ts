/** A long-running process for the helper tests: stdout/stderr collected as lines, waitFor a pattern. */
import { vmlanBin } from "../../support/binary.ts";

export class LineProc {
  readonly proc: ReturnType<typeof Bun.spawn>;
  readonly out: string[] = [];
  readonly err: string[] = [];

  /** `fds` become the child's fds 3, 4, ... */
  constructor(argv: string[], env: Record<string, string>, fds: number[] = []) {
    this.proc = Bun.spawn(argv, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe", ...fds] });
    void this.#pump(this.proc.stdout as ReadableStream<Uint8Array>, this.out);
    void this.#pump(this.proc.stderr as ReadableStream<Uint8Array>, this.err);
  }

  async #pump(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      buf += dec.decode(chunk, { stream: true });
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      into.push(...parts);
    }
    if (buf) into.push(buf);
  }

  /** First stdout (or stderr) line matching `re`; throws with both streams on timeout or exit. */
  async waitFor(re: RegExp, o: { stream?: "out" | "err"; timeoutMs?: number } = {}): Promise<string> {
    const lines = o.stream === "err" ? this.err : this.out;
    const end = Date.now() + (o.timeoutMs ?? 10_000);
    for (;;) {
      const hit = lines.find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (Date.now() > end || this.proc.exitCode !== null) {
        await Bun.sleep(100);
        const again = lines.find((l) => re.test(l));
        if (again !== undefined) return again;
        throw new Error(`no line matching ${re} (exit ${this.proc.exitCode}); stdout: ${JSON.stringify(this.out)}; stderr: ${JSON.stringify(this.err)}`);
      }
      await Bun.sleep(50);
    }
  }

  kill(sig: NodeJS.Signals = "SIGTERM"): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(sig);
  }

  /** Exit status, bounded: SIGKILL after `ms` so a hung process cannot hang the suite. */
  async exited(ms = 10_000): Promise<number> {
    const t = setTimeout(() => this.kill("SIGKILL"), ms);
    const code = await this.proc.exited;
    clearTimeout(t);
    return code;
  }
}

/** The compiled vmlan inside namespace `ns`. */
export function vmlanIn(ns: string, args: string[], env: Record<string, string>, fds: number[] = []): LineProc {
  return new LineProc(["ip", "netns", "exec", ns, vmlanBin(), ...args], env, fds);
}
