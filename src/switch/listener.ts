/**
 * The switch's listening socket: a unix stream socket at PATH, as socket_vmnet's socket_bindlisten
 * (bind, listen, then chown to the socket group and chmod 0770 when a group is given). Differences,
 * on purpose: a path that holds anything but a dead socket is refused instead of unlinked (a root
 * daemon must not delete a user's file or steal a live switch's socket), and the backlog is 128
 * rather than 0 so several VMs starting at once are not refused.
 */
import { chmodSync, chownSync, rmSync } from "node:fs";
import { acceptUnix, closeFd, listenUnix, peerCred, type PeerCred } from "../ipc/unix-stream.ts";
import { replaceStaleSocket } from "../ipc/stale-socket.ts";
import { FdPoller, READABLE } from "../datapath/poll.ts";

/** Pending connections the kernel queues while the switch is busy (socket_vmnet: 0). */
const BACKLOG = 128;

export interface ListenOptions {
  path: string;
  /** File mode of the socket: 0o770 with a group (socket_vmnet), else vmlan's default. */
  mode: number;
  /** Group owning the socket, or null to leave the creator's. */
  gid: number | null;
}

export interface Accepted { fd: number; cred: PeerCred | null }

export class Listener {
  readonly fd: number;
  readonly #poller: FdPoller;
  #closed = false;

  constructor(readonly opts: ListenOptions) {
    replaceStaleSocket(opts.path, "a switch");
    this.fd = listenUnix(opts.path, BACKLOG);
    try {
      if (opts.gid !== null) chownSync(opts.path, process.getuid?.() ?? 0, opts.gid);
      chmodSync(opts.path, opts.mode);
    } catch (e) {
      this.close();
      throw e;
    }
    this.#poller = new FdPoller(this.fd);
  }

  /** Waits up to `ms` for a connection; returns the ones pending (non-blocking sockets). */
  accept(ms: number): Accepted[] {
    if (this.#poller.waitReadable(ms) !== READABLE) return [];
    const out: Accepted[] = [];
    for (;;) {
      const fd = acceptUnix(this.fd);
      if (fd < 0) return out;
      let cred: PeerCred | null = null;
      try {
        cred = peerCred(fd);
      } catch {
        // a peer that is already gone: the workers will see it closed
      }
      out.push({ fd, cred });
    }
  }

  /** Stops listening and removes the socket file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeFd(this.fd);
    rmSync(this.opts.path, { force: true });
  }
}
