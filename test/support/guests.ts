/** Starts fake guests (test/support/fake-guest.ts) inside a test namespace and reads their stdout lines. */
import { type Netns, BUN } from "./netns.ts";

export interface GuestOptions { bridge: string; ip: string; mac: string; ping?: string; via?: string; timeoutMs?: number }

export class Guest {
  readonly #proc: ReturnType<Netns["spawn"]>;
  #buffer = "";
  readonly #lines: string[] = [];
  #waiters: Array<() => void> = [];
  ifname = "";

  constructor(ns: Netns, o: GuestOptions) {
    const argv = [BUN, "test/support/fake-guest.ts", "--bridge", o.bridge, "--ip", o.ip, "--mac", o.mac];
    if (o.ping) argv.push("--ping", o.ping, "--timeout", String(o.timeoutMs ?? 3000));
    if (o.via) argv.push("--via", o.via);
    this.#proc = ns.spawn(argv);
    void this.#pump();
  }

  async #pump(): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of this.#proc.stdout) {
      this.#buffer += dec.decode(chunk);
      const parts = this.#buffer.split("\n");
      this.#buffer = parts.pop() ?? "";
      this.#lines.push(...parts);
      for (const w of this.#waiters.splice(0)) w();
    }
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves with the first stdout line starting with `prefix`; rejects with stderr on timeout or exit. */
  async waitFor(prefix: string, timeoutMs = 8000): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.#lines.find((l) => l.startsWith(prefix));
      if (hit) return hit;
      if (Date.now() > end || this.#proc.exitCode !== null) {
        const err = await Promise.race([new Response(this.#proc.stderr).text(), Bun.sleep(200).then(() => "")]);
        throw new Error(`fake guest never printed "${prefix}" (lines: ${JSON.stringify(this.#lines)}; stderr: ${err.trim()})`);
      }
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  async ready(): Promise<this> {
    this.ifname = (await this.waitFor("ready ")).slice(6);
    return this;
  }

  /** SIGTERM and wait; the guest closes its TAP, which then disappears. */
  async stop(): Promise<number> {
    if (this.#proc.exitCode === null) this.#proc.kill("SIGTERM");
    return this.#proc.exited;
  }
}

export function startGuest(ns: Netns, o: GuestOptions): Promise<Guest> {
  return new Guest(ns, o).ready();
}
