/**
 * Composition of attachment ownership (issue #12 item 10) for the commands and the daemon: the
 * owner of this process (pid + start time, src/process/identity.ts), liveness by the same rule, and
 * the cleanup of a dead helper's socket files when its orphaned attachment is released.
 */
import { resolve } from "node:path";
import type { OwnerPolicy } from "../core/owners.ts";
import type { Owner } from "../core/resources/attachment.ts";
import { removeStaleSocket } from "../datapath/socket-path.ts";
import { identityOf, isAlive, selfIdentity } from "../process/identity.ts";

export const ownerPolicy: OwnerPolicy = {
  alive: isAlive,
  onOrphan: (o) => { if (o.socket) removeStaleSocket(o.socket); },
};

/** This process as an owner; `socket`: the path it serves (removed with its orphan if it dies). */
export function selfOwner(socket?: string | null): Owner {
  return { ...selfIdentity(), socket: socket ? resolve(socket) : null };
}

/** Another process as an owner (a detached VM's QEMU), or null when it is not running. */
export function ownerOf(pid: number): Owner | null {
  const id = identityOf(pid);
  return id ? { ...id, socket: null } : null;
}
