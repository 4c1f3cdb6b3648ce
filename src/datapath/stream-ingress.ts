/**
 * The VM → host loop of a stream client (`vmlan switch`): large reads from the client's stream socket
 * into one preallocated buffer, the frames cut out of it by their length headers (stream-framing.ts)
 * and written to the client's TAP straight from that buffer (no copy per frame). One read carries
 * many frames, so the socket costs far less than one syscall per frame; the TAP, which has no batch
 * call, gets one write() per frame, as in the datagram helper.
 *
 * The first valid frame's source MAC is reported once (the VM picks its own MAC on a stream: QEMU's
 * `mac=` or its default): the switch makes the lease for it. A broken length or a connection that
 * ends inside a frame stops the loop with a reason; a frame the bridge cannot take (shorter than an
 * Ethernet header, longer than the max packet size) is dropped and counted as malformed.
 */
import { ptr, type Pointer } from "bun:ffi";
import { libc } from "../../ffi/libc/load.ts";
import { EAGAIN, EINTR, errno, syscallError } from "../../ffi/errno.ts";
import { ECONNRESET } from "../../ffi/libc/datapath.ts";
import type { Counters } from "./stats.ts";
import { FdPoller, HANGUP } from "./poll.ts";
import { POLL_MS, ETH_HEADER } from "./forward.ts";
import { brokenLengthReason, HEADER_BYTES, STREAM_MAX_FRAME, truncatedReason, walkFrames, type Walk } from "./stream-framing.ts";

/** 256 KiB: room for several maximal frames, so a read is rarely short of space; about 170 full-size frames. */
export const RX_BYTES = 256 * 1024;
/** Errors of write() on a TAP meaning the device is gone (as frame-fd.ts). */
const DEVICE_GONE = new Set([77, 19, 6]);

export type IngressEnd =
  | { reason: "stopped" | "peer-closed" }
  | { reason: "malformed"; message: string };

export interface IngressOptions {
  sock: number;
  tap: number;
  maxPacketSize: number;
  counters: Counters;
  /** Non-zero element 0 = stop. */
  control: Int32Array;
  /** Called once with the source MAC of the first valid frame (lowercase, colon-separated). */
  onMac(mac: string): void;
}

const hex = (b: number) => (b < 16 ? "0" : "") + b.toString(16);

/** A source MAC a port can be said to have: unicast and not all zero. */
function learnable(buf: Uint8Array, at: number): boolean {
  if (buf[at]! & 1) return false;
  for (let i = 0; i < 6; i++) if (buf[at + i] !== 0) return true;
  return false;
}

export function pumpStreamToTap(o: IngressOptions): IngressEnd {
  const c = libc();
  const ab = new ArrayBuffer(RX_BYTES);
  const buf = new Uint8Array(ab); // the view first, then the one ptr() (native-facts D.1d)
  const base = ptr(ab);
  const poller = new FdPoller(o.sock);
  const { counters, control, tap, maxPacketSize } = o;
  const walk: Walk = { next: 0, broken: -1 };
  let have = 0;
  let off = 0;
  let learned = false;
  let packets = 0, bytes = 0, drops = 0, malformed = 0, tapGone = false;

  const onFrame = (at: number, len: number): void => {
    if (len < ETH_HEADER || len > maxPacketSize) {
      malformed++;
      return;
    }
    if (!learned && learnable(buf, at + 6)) {
      learned = true;
      let mac = hex(buf[at + 6]!);
      for (let i = 7; i < 12; i++) mac += `:${hex(buf[at + i]!)}`;
      o.onMac(mac);
    }
    packets++;
    bytes += len;
    let w = Number(c.write(tap, (base + at) as Pointer, len));
    if (w < 0 && errno() === EINTR) w = Number(c.write(tap, (base + at) as Pointer, len));
    if (w !== len) {
      drops++;
      if (w < 0 && DEVICE_GONE.has(errno())) tapGone = true;
    }
  };

  while (Atomics.load(control, 0) === 0) {
    const r = Number(c.read(o.sock, (base + have) as Pointer, RX_BYTES - have));
    if (r === 0) return have > off ? { reason: "malformed", message: truncatedReason(have - off, buf, off) } : { reason: "peer-closed" };
    if (r < 0) {
      const e = errno();
      if (e === EINTR) continue;
      if (e === ECONNRESET) return { reason: "peer-closed" };
      if (e !== EAGAIN) throw syscallError("read", e, "stream client");
      if (poller.waitReadable(POLL_MS) === HANGUP) return { reason: "peer-closed" };
      continue;
    }
    have += r;
    packets = bytes = drops = malformed = 0;
    walkFrames(buf, off, have, onFrame, walk);
    if (packets + malformed > 0) counters.addBatch(packets, bytes, drops, malformed, 0);
    if (walk.broken >= 0) return { reason: "malformed", message: brokenLengthReason(walk.broken) };
    if (tapGone) return { reason: "peer-closed" };
    off = walk.next;
    // Keep room for a maximal frame after `have`: move the incomplete tail (usually < 1 frame) to the front.
    if (off === have) off = have = 0;
    else if (RX_BYTES - have < HEADER_BYTES + STREAM_MAX_FRAME) {
      buf.copyWithin(0, off, have);
      have -= off;
      off = 0;
    }
  }
  return { reason: "stopped" };
}
