/**
 * Worker entry: receives DHCP datagrams with a poll(2)-with-timeout loop, so the daemon's main
 * thread (DNS, signals, replies) never blocks in FFI. Posts each datagram to the main thread,
 * which parses, decides and replies. Listed in scripts/build.ts ENTRY_POINTS so the compiled
 * binary carries it. Stops when the main thread sets the shared stop flag. Backpressure: at most
 * MAX_PENDING datagrams wait for the main thread (a shared counter it decrements per packet handled);
 * past that the Worker stops reading and the kernel's socket buffer, which drops when full, holds
 * the rest. A flood costs bounded memory, never an unbounded message queue.
 */
import { receive } from "./socket.ts";

export interface DhcpWorkerInit { fd: number; control: SharedArrayBuffer }
export type DhcpWorkerMessage = { kind: "packet"; bytes: Uint8Array } | { kind: "stopped" } | { kind: "error"; message: string };

/** How long one poll waits: the worst-case delay for noticing the stop flag. */
export const POLL_MS = 200;
/** Datagrams read per wake-up before yielding (a flood cannot starve the stop check). */
const BURST = 64;
/** Datagrams posted to the main thread and not handled yet, at most: a few milliseconds of work. */
export const MAX_PENDING = 256;
/** Slots of the shared control array: the stop flag, and the count of posted, unhandled datagrams. */
export const CONTROL_STOP = 0;
export const CONTROL_PENDING = 1;
/** DHCP messages fit in 576 bytes (RFC 2131 §2) and in one Ethernet frame; 1500 bounds any sane one. */
const MAX_DATAGRAM = 1500;

declare const self: Worker;

self.onmessage = (ev: MessageEvent<DhcpWorkerInit>) => {
  const { fd, control } = ev.data;
  const ctl = new Int32Array(control);
  const buf = new Uint8Array(MAX_DATAGRAM + 1);
  const pollfd = new Uint8Array(8);
  const tick = () => {
    try {
      if (Atomics.load(ctl, CONTROL_STOP) !== 0) return self.postMessage({ kind: "stopped" } satisfies DhcpWorkerMessage);
      if (Atomics.load(ctl, CONTROL_PENDING) >= MAX_PENDING) return void setTimeout(tick, 2); // the main thread is behind
      for (let i = 0; i < BURST && Atomics.load(ctl, CONTROL_STOP) === 0 && Atomics.load(ctl, CONTROL_PENDING) < MAX_PENDING; i++) {
        const n = receive(fd, buf, pollfd, i === 0 ? POLL_MS : 0);
        if (n < 0) break;
        Atomics.add(ctl, CONTROL_PENDING, 1);
        self.postMessage({ kind: "packet", bytes: buf.slice(0, n) } satisfies DhcpWorkerMessage);
      }
      setTimeout(tick, 0); // yield so messages flow, then poll again
    } catch (e) {
      self.postMessage({ kind: "error", message: (e as Error).message } satisfies DhcpWorkerMessage);
    }
  };
  tick();
};
