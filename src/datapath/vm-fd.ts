/**
 * `helper --fd N` is checked before anything is allocated or announced (issue #12 item 9): the fd
 * must be open, a socket, AF_UNIX, SOCK_DGRAM (one Ethernet frame per datagram, what vfkit, krunkit
 * and QEMU's `-netdev dgram` send) and connected (one end of a socketpair, or connected to the VM's
 * path). Anything else would make the helper print its ready line and then fail, or wait forever on a
 * stream or an unconnected socket.
 */
import { fstatSync, type Stats } from "node:fs";
import { libc } from "../../ffi/libc/load.ts";
import { OS } from "../../ffi/libc/os.ts";
import { errno } from "../../ffi/errno.ts";
import { ENOTCONN, SOCKADDR_UN_SIZE, libcDatapath } from "../../ffi/libc/datapath.ts";
import { UsageError } from "../core/errors.ts";
import { kindOf } from "./socket-path.ts";

const WANT = "pass a connected unix datagram socket (one end of a socketpair)";
/** Families worth naming in an error line; others print as their number. */
const FAMILIES: Record<number, string> = { 1: "AF_UNIX", 2: "AF_INET", [OS.name === "darwin" ? 30 : 10]: "AF_INET6" };

/** Throws a UsageError naming --fd and what is wrong; returns when `fd` is usable. */
export function checkVmFd(fd: number, flag = "--fd"): void {
  const bad = (what: string) => new UsageError(`${flag} ${fd}: ${what}`, { details: { fd } });
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch {
    throw bad("not an open file descriptor");
  }
  if (!st.isSocket()) throw bad(`${kindOf(st)}, not a socket; ${WANT}`);
  const c = libc();
  const type = new Int32Array(1);
  const len = new Uint32Array([4]);
  if (c.getsockopt(fd, OS.SOL_SOCKET, OS.SO_TYPE, type, len) < 0) throw bad(`getsockopt(SO_TYPE) failed (errno ${errno()}); ${WANT}`);
  const family = socketFamily(fd);
  if (family !== OS.AF_UNIX) throw bad(`an ${FAMILIES[family] ?? `address family ${family}`} socket, not a unix socket; ${WANT}`);
  if (type[0] !== OS.SOCK_DGRAM) throw bad(`${type[0] === OS.SOCK_STREAM ? "a stream socket" : `a socket of type ${type[0]}`}, not a datagram socket; ${WANT}`);
  const peer = new Uint8Array(SOCKADDR_UN_SIZE);
  const plen = new Uint32Array([SOCKADDR_UN_SIZE]);
  if (libcDatapath().getpeername(fd, peer, plen) < 0) {
    const e = errno();
    throw bad(e === ENOTCONN ? `the socket is not connected; ${WANT}` : `getpeername failed (errno ${e}); ${WANT}`);
  }
}

/** The socket's address family from getsockname (Linux: u16 at 0; macOS: sun_len, then a u8 family). */
function socketFamily(fd: number): number {
  const sa = new Uint8Array(128);
  const len = new Uint32Array([sa.length]);
  if (libc().getsockname(fd, sa, len) < 0) return -1;
  return OS.name === "darwin" ? sa[1]! : new DataView(sa.buffer).getUint16(0, true);
}
