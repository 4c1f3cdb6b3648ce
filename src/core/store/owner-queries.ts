/**
 * Owners of attachments (issue #12 item 10): the process that holds an attachment for its life (a
 * helper, `vmlan run --native`, a foreground `vm run`, a detached VM's QEMU) as pid + start time,
 * and the socket it serves, if any. The table (migration 5) only ever describes active attachments:
 * a trigger deletes the row when its attachment is released by any path (detach, DHCP release,
 * expiry) and a foreign key when the attachment is deleted, so a claim re-activated later never
 * inherits a dead owner.
 */
import type { Statement } from "bun:sqlite";
import type { Owner } from "../resources/attachment.ts";

export interface OwnedAttachment extends Owner {
  network: string;
  id: string;
}

interface OwnerRow { network: string; id: string; pid: number; start: string; socket: string | null }

const toOwned = (r: OwnerRow): OwnedAttachment => ({ network: r.network, id: r.id, pid: r.pid, start: r.start, socket: r.socket });

export class OwnerQueries {
  constructor(private readonly stmt: (sql: string) => Statement) {}

  get(network: string, id: string): OwnedAttachment | null {
    const r = this.stmt("SELECT * FROM attachment_owners WHERE network = ? AND id = ?").get(network, id) as OwnerRow | null;
    return r ? toOwned(r) : null;
  }

  set(network: string, id: string, o: Owner): void {
    this.stmt(
      `INSERT INTO attachment_owners (network, id, pid, start, socket) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (network, id) DO UPDATE SET pid = excluded.pid, start = excluded.start, socket = excluded.socket`,
    ).run(network, id, o.pid, o.start, o.socket ?? null);
  }

  delete(network: string, id: string): void {
    this.stmt("DELETE FROM attachment_owners WHERE network = ? AND id = ?").run(network, id);
  }

  /** Every owned attachment (they are all active), of one network or all. */
  list(network?: string): OwnedAttachment[] {
    const rows = network
      ? this.stmt("SELECT * FROM attachment_owners WHERE network = ? ORDER BY network, id").all(network)
      : this.stmt("SELECT * FROM attachment_owners ORDER BY network, id").all();
    return (rows as OwnerRow[]).map(toOwned);
  }
}
