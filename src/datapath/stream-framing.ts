/**
 * The framing of QEMU's `-netdev stream` and `-netdev socket,fd=` on a stream socket, which
 * socket_vmnet and lima speak: every Ethernet frame is preceded by its length as 4 bytes, big-endian
 * (QEMU net/stream.c and net/net.c net_fill_rstate; socket_vmnet main.c htonl/ntohl). There is no
 * greeting and no other message. Pure: the datapath loops (stream-ingress.ts, stream-port.ts) and
 * the tests share these rules.
 */

export const HEADER_BYTES = 4;
/**
 * The longest length a stream may announce: a 64 KiB segmentation-offload frame plus its Ethernet
 * header (65550, the helper's largest datagram too). QEMU itself refuses above NET_BUFSIZE (69632).
 * A longer length, or 0, means the stream is out of step: the client is dropped. A length up to this
 * but above the network's max packet size is a valid stream carrying a frame the bridge cannot take:
 * that frame alone is dropped and counted, as the datagram helper does.
 */
export const STREAM_MAX_FRAME = 65550;

/** Why a stream is beyond repair (the client is dropped), in words for the log line. */
export function brokenLengthReason(length: number): string {
  return length === 0 ? "frame length 0" : `frame length ${length} over the stream maximum of ${STREAM_MAX_FRAME}`;
}

/** How a connection that ended mid-frame is described: `have` bytes of the frame's header or body arrived. */
export function truncatedReason(pending: number, buf: Uint8Array, off: number): string {
  if (pending < HEADER_BYTES) return `connection closed inside a frame header (${pending} of ${HEADER_BYTES} bytes)`;
  return `connection closed inside a frame (${pending - HEADER_BYTES} of ${readLength(buf, off)} bytes)`;
}

/** The big-endian length at `off` (the caller checked that 4 bytes are there). */
export function readLength(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

export function writeLength(buf: Uint8Array, off: number, length: number): void {
  buf[off] = length >>> 24;
  buf[off + 1] = (length >>> 16) & 0xff;
  buf[off + 2] = (length >>> 8) & 0xff;
  buf[off + 3] = length & 0xff;
}

/** Result of walking a buffer: where the first incomplete frame starts, or the length that broke the stream. */
export interface Walk {
  /** Offset of the first byte not consumed (an incomplete frame or the end). */
  next: number;
  /** The offending length when the stream is broken, else -1. */
  broken: number;
}

/**
 * Calls `onFrame(offset, length)` for each complete frame in buf[start, end) and stops at the first
 * incomplete one or at a broken length (0 or over STREAM_MAX_FRAME). `out` is reused so the hot path
 * allocates nothing; it is also returned.
 */
export function walkFrames(buf: Uint8Array, start: number, end: number, onFrame: (offset: number, length: number) => void, out: Walk = { next: 0, broken: -1 }): Walk {
  let off = start;
  out.broken = -1;
  while (end - off >= HEADER_BYTES) {
    const len = readLength(buf, off);
    if (len === 0 || len > STREAM_MAX_FRAME) {
      out.broken = len;
      break;
    }
    if (end - off - HEADER_BYTES < len) break;
    onFrame(off + HEADER_BYTES, len);
    off += HEADER_BYTES + len;
  }
  out.next = off;
  return out;
}

/** One frame with its header, as a client sends it (tests, fake guests). */
export function frameStream(frames: Uint8Array[]): Uint8Array {
  const total = frames.reduce((n, f) => n + HEADER_BYTES + f.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const f of frames) {
    writeLength(out, off, f.length);
    out.set(f, off + HEADER_BYTES);
    off += HEADER_BYTES + f.length;
  }
  return out;
}
