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

  setAllowSpoofing(network: string, id: string, allow: boolean): void {
    this.stmt("UPDATE attachments SET allow_spoofing = ? WHERE network = ? AND id = ?").run(allow ? 1 : 0, network, id);
  }
}
