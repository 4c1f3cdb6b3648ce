/**
 * The CNI plugin process's side of a call the services daemon runs (cni/client.ts), with blocking
 * libc calls: read(2) of stdin, a unix stream socket, send, recv until the daemon hangs up, write(2)
 * of the answer. A process that does nothing else needs no event loop, and Bun's would cost it:
 * Bun.stdin starts a thread pool for its read, Bun.connect an epoll round trip and a scavenger
 * thread, all to start and to end at exit (~1 ms of an ADD; bench cni). No errno is read (that
 * binds more of libc): a failed call is a fallback to Bun's APIs or to running the call here. Not
 * ipc/unix-stream.ts (the helper's): it loads node:fs and all of libc, ~2 ms of a plugin process.
 */
import { AF_UNIX, libcPlugin, MSG_NOSIGNAL, SO_RCVTIMEO, SOCK_CLOEXEC, SOCK_STREAM, SOCKADDR_UN_SIZE, SOL_SOCKET } from "../../../ffi/libc/plugin.ts";

/** recv failures (EINTR) retried before the daemon counts as gone. */
const RECV_RETRIES = 8;

/** The socket's address (os.ts's encodeSockaddrUn for Linux, which loads both OSes' tables); null when the path does not fit. */
function sockaddrUn(path: string): Uint8Array | null {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length > SOCKADDR_UN_SIZE - 3) return null; // 2 bytes of family, a NUL at the end
  const sa = new Uint8Array(SOCKADDR_UN_SIZE);
  sa[0] = AF_UNIX; // little-endian u16 on both Linux targets
  sa.set(bytes, 2);
  return sa;
}

function concat(chunks: Uint8Array[], n: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) out.set(c, at), (at += c.length);
  return out;
}

/**
 * fd 0 to its end. `rest`: false when a read failed (a non-blocking fd 0 had nothing yet, or there
 * is no fd 0): the caller reads the rest with Bun.stdin, which waits, and says what is missing.
 */
export function readStdin(): { bytes: Uint8Array; rest: boolean } {
  const c = libcPlugin();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const buf = new Uint8Array(64 * 1024);
    const n = Number(c.read(0, buf, buf.length));
    if (n <= 0) return { bytes: concat(chunks, total), rest: n < 0 };
    chunks.push(buf.subarray(0, n));
    total += n;
  }
}

/**
 * Sends `frame` to the socket at `path` and returns what came back once `whole` says it is a whole
 * answer; null when there is no daemon there or it hung up first, "timeout" after `timeoutS`.
 */
export function callDaemon(path: string, frame: Uint8Array, whole: (got: Uint8Array) => boolean, timeoutS: number): Uint8Array | null | "timeout" {
  const c = libcPlugin();
  const addr = sockaddrUn(path);
  if (!addr) return null;
  const fd = c.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return null;
  // The process exits right after the answer: the socket goes with it, no close(2) to bind.
  if (c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, new BigInt64Array([BigInt(timeoutS), 0n]), 16) !== 0) return null;
  if (c.connect(fd, addr, addr.length) !== 0) return null;
  for (let off = 0; off < frame.length;) {
    const n = Number(c.send(fd, frame.subarray(off), frame.length - off, MSG_NOSIGNAL));
    if (n <= 0) return null;
    off += n;
  }
  const deadline = Date.now() + timeoutS * 1000;
  const buf = new Uint8Array(64 * 1024);
  let got = new Uint8Array(0);
  for (let failed = 0; ;) {
    const n = Number(c.recv(fd, buf, buf.length, 0));
    if (n === 0) return null;
    if (n < 0) {
      if (Date.now() >= deadline) return "timeout";
      if (++failed > RECV_RETRIES) return null;
      continue;
    }
    const more = new Uint8Array(got.length + n);
    more.set(got);
    more.set(buf.subarray(0, n), got.length);
    got = more;
    if (whole(got)) return got;
  }
}

/** `bytes` to fd 1; how many were written (fewer when a write failed: a non-blocking fd 1 that is full, or none). */
export function writeStdout(bytes: Uint8Array): number {
  const c = libcPlugin();
  let off = 0;
  while (off < bytes.length) {
    const n = Number(c.write(1, bytes.subarray(off), bytes.length - off));
    if (n <= 0) break;
    off += n;
  }
  return off;
}
