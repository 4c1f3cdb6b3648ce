/**
 * The store's published-port queries (table published_ports, migration 10). Every method runs inside
 * the caller's transaction; rows are validated on the way out like every other row.
 */
import type { Statement } from "bun:sqlite";
import * as v from "valibot";
import { StoreError } from "../errors.ts";
import { PublishedPort } from "../resources/port.ts";

interface PortRow { network: string; id: string; proto: string; host_ip: string; host_port: number; host_end: number; guest_port: number; created_at: string }

function fromRow(r: PortRow): PublishedPort {
  const out = v.safeParse(PublishedPort, {
    network: r.network, id: r.id, proto: r.proto, hostIp: r.host_ip, hostPort: r.host_port, hostEnd: r.host_end, guestPort: r.guest_port, createdAt: r.created_at,
  });
  if (!out.success) throw new StoreError(`stored port ${r.host_ip}:${r.host_port} of "${r.id}" on "${r.network}" is invalid: ${out.issues[0].message}`);
  return out.output;
}

const ORDER = "ORDER BY network, id, proto, host_port, host_ip";

export class PortQueries {
  constructor(private readonly stmt: (sql: string) => Statement) {}

  /** Every published port (of one network, or one attachment). */
  list(network?: string, id?: string): PublishedPort[] {
    const rows = network === undefined
      ? this.stmt(`SELECT * FROM published_ports ${ORDER}`).all()
      : id === undefined
        ? this.stmt(`SELECT * FROM published_ports WHERE network = ? ${ORDER}`).all(network)
        : this.stmt(`SELECT * FROM published_ports WHERE network = ? AND id = ? ${ORDER}`).all(network, id);
    return (rows as PortRow[]).map(fromRow);
  }

  put(p: PublishedPort): void {
    v.parse(PublishedPort, p);
    this.stmt(
      `INSERT INTO published_ports (network, id, proto, host_ip, host_port, host_end, guest_port, created_at)
       VALUES ($network, $id, $proto, $host_ip, $host_port, $host_end, $guest_port, $created_at)`,
    ).run({ network: p.network, id: p.id, proto: p.proto, host_ip: p.hostIp, host_port: p.hostPort, host_end: p.hostEnd, guest_port: p.guestPort, created_at: p.createdAt });
  }

  delete(p: Pick<PublishedPort, "network" | "id" | "proto" | "hostIp" | "hostPort">): boolean {
    return this.stmt("DELETE FROM published_ports WHERE network = ? AND id = ? AND proto = ? AND host_ip = ? AND host_port = ?")
      .run(p.network, p.id, p.proto, p.hostIp, p.hostPort).changes > 0;
  }

  /** Removes every port of an attachment; returns how many. */
  deleteAll(network: string, id: string): number {
    return this.stmt("DELETE FROM published_ports WHERE network = ? AND id = ?").run(network, id).changes;
  }
}
