/**
 * A raw client of a stream socket for tests that misbehave on purpose (`vmlan switch`'s hostile-framing
 * tests): connect, write whatever bytes, never read if told so. Unix sockets live in the filesystem,
 * so the test process reaches a switch running in a test namespace without touching any interface.
 */
import { libc } from "../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_STREAM } from "../../ffi/libc/constants.ts";
import { libcDatapath } from "../../ffi/libc/datapath.ts";
import { EAGAIN, errno } from "../../ffi/errno.ts";
import { frameStream } from "../../src/datapath/stream-framing.ts";

export class StreamClient {
  readonly fd: number;
  #closed = false;

  constructor(path: string) {
    this.fd = libc().socket(AF_UNIX, SOCK_STREAM, 0);
    const sa = new Uint8Array(110);
    sa[0] = AF_UNIX;
    sa.set(new TextEncoder().encode(path), 2);
    if (libcDatapath().connect(this.fd, sa, sa.length) < 0) throw new Error(`connect ${path} failed`);
  }

  /** Writes all of `bytes` (blocking); false when the switch hung up. */
  write(bytes: Uint8Array): boolean {
    for (let off = 0; off < bytes.length; ) {
      const n = Number(libc().send(this.fd, bytes.subarray(off), bytes.length - off, 0x4000 /* MSG_NOSIGNAL */));
      if (n <= 0) return false;
      off += n;
    }
    return true;
  }

  frames(frames: Uint8Array[]): boolean {
    return this.write(frameStream(frames));
  }

  /** True once the switch closed its end (a read sees EOF or a reset). Drains what it sent. */
  hungUp(): boolean {
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = Number(libc().recv(this.fd, buf, buf.length, 0x40 /* MSG_DONTWAIT */));
      if (n === 0) return true;
      if (n < 0) return errno() !== EAGAIN; // EAGAIN: still open; ECONNRESET: hung up
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.fd);
  }
}

/** An Ethernet frame: destination, source (MAC strings), an IPv6/UDP header to a group nobody joined, `size` bytes. */
export function testFrame(dst: string, src: string, size = 60): Uint8Array {
  const f = new Uint8Array(size);
  const mac = (s: string) => s.split(":").map((h) => Number.parseInt(h, 16));
  f.set(mac(dst), 0);
  f.set(mac(src), 6);
  // IPv6/UDP (what a VM sends; vmlan's port rules drop other EtherTypes, as libvirt's clean-traffic
  // does) to ff02::dead, a group nobody joined, so the host's stack drops a flood of them at once.
  f.set([0x86, 0xdd, 0x60, 0, 0, 0, (size - 54) >> 8, (size - 54) & 0xff, 17, 64], 12);
  f.set([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 22);
  f.set([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad], 38);
  return f;
}
