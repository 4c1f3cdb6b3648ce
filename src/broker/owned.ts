/**
 * The networks a broker brought up (and so may take down), kept on disk so that the next broker on
 * the same socket (after a crash or an upgrade) adopts them: it tears them down after its idle time,
 * as its predecessor would have, instead of leaving them up for good. One file per socket path in
 * `<state dir>/broker/`, so two brokers sharing a state dir never adopt each other's networks.
 * Written whole (temporary file + rename), mode 0600; read back through a schema, and a file that
 * does not validate is ignored with a log line rather than trusted.
 */
import * as v from "valibot";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NetworkName } from "../core/resources/names.ts";

const OwnedFile = v.strictObject({ version: v.literal(1), socket: v.string(), networks: v.array(NetworkName) });

export class OwnedNetworks {
  readonly #names = new Set<string>();
  readonly #path: string | null;

  /** `stateDir` null: nothing is persisted (a store in memory). */
  constructor(stateDir: string | null, readonly socket: string, readonly log: (m: string) => void) {
    const key = createHash("sha256").update(socket).digest("hex").slice(0, 16);
    this.#path = stateDir === null ? null : join(stateDir, "broker", `owned-${key}.json`);
  }

  /** What the previous broker on this socket had brought up (empty when there was none). */
  load(): string[] {
    if (this.#path === null) return [];
    let text: string;
    try {
      text = readFileSync(this.#path, "utf8");
    } catch {
      return [];
    }
    let parsed: v.SafeParseResult<typeof OwnedFile>;
    try {
      parsed = v.safeParse(OwnedFile, JSON.parse(text));
    } catch {
      parsed = { success: false } as v.SafeParseResult<typeof OwnedFile>;
    }
    if (!parsed.success || parsed.output.socket !== this.socket) {
      this.log(`ignoring ${this.#path}: not a valid record of this broker's networks`);
      return [];
    }
    for (const n of parsed.output.networks) this.#names.add(n);
    return [...this.#names];
  }

  has(name: string): boolean {
    return this.#names.has(name);
  }

  add(name: string): void {
    if (this.#names.has(name)) return;
    this.#names.add(name);
    this.#save();
  }

  delete(name: string): boolean {
    if (!this.#names.delete(name)) return false;
    this.#save();
    return true;
  }

  #save(): void {
    if (this.#path === null) return;
    const dir = join(this.#path, "..");
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${this.#path}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify({ version: 1, socket: this.socket, networks: [...this.#names].sort() })}\n`, { mode: 0o600 });
      renameSync(tmp, this.#path);
    } catch (e) {
      // Losing the record only means a successor will not adopt; the broker itself keeps working.
      this.log(`cannot record owned networks in ${this.#path}: ${(e as Error).message}`);
    }
  }
}
