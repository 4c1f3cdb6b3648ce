/**
 * Worker entry: receives DHCP datagrams for every network's DhcpSocket with one poll(2)-with-timeout
 * loop, so the daemon's main thread (DNS, signals, replies) never blocks in FFI and N networks cost
 * one thread, not N. Posts each datagram, tagged with its fd, to the main thread, which parses,
 * decides and replies (receiver.ts routes it to that network's server). Listed in scripts/build.ts
 * ENTRY_POINTS so the compiled binary carries it. Backpressure per socket: at most MAX_PENDING
 * datagrams of one socket wait for the main thread (a shared counter it decrements per packet
 * handled); past that the socket is left out of the poll set and the kernel's socket buffer, which
 * drops when full, holds the rest. A flood on one network costs bounded memory and never keeps the
 * others' packets from being read.
 */
import { readable, recvDatagram } from "./socket.ts";
import { POLLERR, POLLHUP, POLLIN, POLLNVAL } from "../../../ffi/libc/constants.ts";

/** main → Worker */
export type DhcpWorkerCommand = { kind: "add"; fd: number; control: SharedArrayBuffer } | { kind: "remove"; fd: number };
/** Worker → main */
export type DhcpWorkerMessage =
  | { kind: "packet"; fd: number; bytes: Uint8Array }
  | { kind: "removed"; fd: number }
  | { kind: "error"; fd: number; message: string };

/** How long one poll waits: the worst-case delay for noticing an added or removed socket. */
export const POLL_MS = 200;
/** Datagrams read per socket per wake-up before yielding (a flood cannot starve the others or the commands). */
const BURST = 64;
/** Datagrams of one socket posted to the main thread and not handled yet, at most: a few milliseconds of work. */
export const MAX_PENDING = 256;
/** The slot of a socket's shared control array holding its count of posted, unhandled datagrams. */
export const CONTROL_PENDING = 0;
/** DHCP messages fit in 576 bytes (RFC 2131 §2) and in one Ethernet frame; 1500 bounds any sane one. */
const MAX_DATAGRAM = 1500;
const POLLFD_SIZE = 8;

declare const self: Worker;

const sockets = new Map<number, Int32Array>();
const buf = new Uint8Array(MAX_DATAGRAM + 1);
let pollfds = new Uint8Array(POLLFD_SIZE * 16);
let scheduled = false;

const post = (m: DhcpWorkerMessage) => self.postMessage(m);

function schedule(ms: number): void {
  if (scheduled) return;
  scheduled = true;
  setTimeout(tick, ms);
}

self.onmessage = (ev: MessageEvent<DhcpWorkerCommand>) => {
  const c = ev.data;
  if (c.kind === "add") sockets.set(c.fd, new Int32Array(c.control));
  else {
    sockets.delete(c.fd);
    post({ kind: "removed", fd: c.fd }); // from now on the main thread may close it
  }
  schedule(0);
};

/** One wake-up: poll every socket that is not backed up, read what is there, yield. */
function tick(): void {
  scheduled = false;
  if (sockets.size === 0) return; // idle until the next command
  const fds: number[] = [];
  for (const [fd, ctl] of sockets) if (Atomics.load(ctl, 0) < MAX_PENDING) fds.push(fd);
  if (fds.length === 0) return schedule(2); // the main thread is behind on every socket
  if (pollfds.length < fds.length * POLLFD_SIZE) pollfds = new Uint8Array(fds.length * POLLFD_SIZE * 2);
  const pv = new DataView(pollfds.buffer);
  fds.forEach((fd, i) => {
    pv.setInt32(i * POLLFD_SIZE, fd, true);
    pv.setInt16(i * POLLFD_SIZE + 4, POLLIN, true);
    pv.setInt16(i * POLLFD_SIZE + 6, 0, true);
  });
  if (readable(pollfds, fds.length, POLL_MS) > 0) {
    fds.forEach((fd, i) => {
      const revents = pv.getInt16(i * POLLFD_SIZE + 6, true);
      if (revents & POLLNVAL) fail(fd, `fd ${fd} was closed while the receiver polled it`);
      else if (revents & (POLLIN | POLLERR | POLLHUP)) drain(fd);
    });
  }
  schedule(0); // yield so messages flow both ways, then poll again
}

function drain(fd: number): void {
  const ctl = sockets.get(fd);
  if (!ctl) return;
  try {
    for (let i = 0; i < BURST && Atomics.load(ctl, CONTROL_PENDING) < MAX_PENDING; i++) {
      const n = recvDatagram(fd, buf);
      if (n < 0) break;
      Atomics.add(ctl, CONTROL_PENDING, 1);
      post({ kind: "packet", fd, bytes: buf.slice(0, n) });
    }
  } catch (e) {
    fail(fd, (e as Error).message);
  }
}

/** This socket is broken, the others are not: it leaves the set, and its server is restarted. */
function fail(fd: number, message: string): void {
  sockets.delete(fd);
  post({ kind: "error", fd, message });
}
