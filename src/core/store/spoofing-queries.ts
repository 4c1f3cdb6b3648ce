/**
 * The per-attachment opt-out of the ports' anti-spoofing rules (issue #12 item 2): `allow_spoofing`
 * (migration 9). A column of attachments that IPAM's upserts never name, so releasing or
 * re-activating a lease keeps it.
 */
import type { Statement } from "bun:sqlite";

export class SpoofingQueries {
  constructor(private readonly stmt: (sql: string) => Statement) {}

  allowSpoofing(network: string, id: string): boolean {
    const r = this.stmt("SELECT allow_spoofing FROM attachments WHERE network = ? AND id = ?").get(network, id) as { allow_spoofing: number } | null;
    return r?.allow_spoofing === 1;
  }

  /** The attachments (of one network, or all) that opted out, as `network\0id` keys: one scan for a listing, not a lookup per row. */
  allowedIn(network?: string): Set<string> {
    const rows = (network
      ? this.stmt("SELECT network, id FROM attachments WHERE network = ? AND allow_spoofing = 1").all(network)
      : this.stmt("SELECT network, id FROM attachments WHERE allow_spoofing = 1").all()) as Array<{ network: string; id: string }>;
    return new Set(rows.map((r) => `${r.network}\0${r.id}`));
  }

  setAllowSpoofing(network: string, id: string, allow: boolean): void {
    this.stmt("UPDATE attachments SET allow_spoofing = ? WHERE network = ? AND id = ?").run(allow ? 1 : 0, network, id);
  }
}
