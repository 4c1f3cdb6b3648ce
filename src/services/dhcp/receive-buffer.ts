/**
 * Room for a burst of DHCP requests queued before the receiving Worker reads them. The Linux default
 * (net.core.rmem_default, 208 KiB) holds about 160 small datagrams: 250 clients booting at once lost
 * a third of their DISCOVERs in the host's kernel and waited for their retransmit (seconds).
 * 1 MiB holds about 800.
 */
import { libc } from "../../../ffi/libc/load.ts";
import { OS } from "../../../ffi/libc/os.ts";
import { SO_RCVBUFFORCE } from "../../../ffi/libc/udp.ts";

export const RECEIVE_BUFFER = 1 << 20;

/** Best effort: a smaller buffer only means drops under a burst, never a server that cannot start. */
export function growReceiveBuffer(fd: number, bytes = RECEIVE_BUFFER): void {
  const v = new Int32Array([bytes]);
  // Linux: SO_RCVBUFFORCE goes past net.core.rmem_max (the daemon is root); otherwise SO_RCVBUF, capped by the OS.
  if (OS.name === "linux" && libc().setsockopt(fd, OS.SOL_SOCKET, SO_RCVBUFFORCE, v, 4) === 0) return;
  libc().setsockopt(fd, OS.SOL_SOCKET, OS.SO_RCVBUF, v, 4);
}
