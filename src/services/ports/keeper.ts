/**
 * The daemon's share of published ports (issue #14): it owns the rules whose lifetime is not one
 * command's. At start (force: whatever happened while it was down), on SIGHUP and every reconcile,
 * it syncs every network's rules with the store (core/ports/sync.ts: ports of attachments that
 * ended, helpers that died, networks that came back), then holds the ports in effect and serves
 * those no kernel rule carries (holds.ts).
 */
import type { Synced } from "../../core/ports/sync.ts";
import type { Logger } from "../log.ts";
import { Holds, portsOf } from "./holds.ts";

export interface PortSyncer {
  sync(networks?: string[], o?: { force?: boolean }): Promise<Synced[]>;
}

export class PortKeeper {
  readonly #holds: Holds;
  #first = true;

  constructor(private readonly ports: PortSyncer, private readonly log: Logger) {
    this.#holds = new Holds(log);
  }

  async reconcile(): Promise<void> {
    const force = this.#first;
    this.#first = false;
    const synced = await this.ports.sync(undefined, { force });
    for (const s of synced) if (s.changed) this.log(`${s.network}: ${s.rules.length} port rule(s) in the kernel`);
    await this.#holds.update(synced.filter((s) => s.up).flatMap((s) => portsOf(s.rules, s.carriers)));
  }

  held(): string[] {
    return this.#holds.held();
  }

  stop(): void {
    this.#holds.closeAll();
  }
}
