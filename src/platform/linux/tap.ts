/**
 * TAP devices: open /dev/net/tun, TUNSETIFF (IFF_TAP | IFF_NO_PI), optionally enslave to a bridge
 * and bring up. The TAP is not persistent: it disappears when the last fd on it closes.
 * With `offload`, every frame on the fd carries a virtio-net header (IFF_VNET_HDR, 10 bytes) and the
 * kernel may hand over frames with unfinished checksums and TSO segments up to 64 KiB (TUNSETOFFLOAD).
 * See Documentation/networking/tuntap.rst and <linux/if_tun.h>.
 */
import { libc } from "../../../ffi/libc/load.ts";
import {
  IFF_NO_PI, IFF_TAP, IFF_VNET_HDR, IFNAMSIZ, O_CLOEXEC, O_RDWR, TUNSETIFF, TUNSETOFFLOAD, TUNSETVNETHDRSZ,
  TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN,
} from "../../../ffi/libc/constants.ts";
import { ifreq, virtio_net_hdr } from "../../../ffi/libc/structs.ts";
import { alloc, offsetOf, write } from "../../../ffi/layout.ts";
import { check } from "../../../ffi/errno.ts";
import { ConflictError, UsageError } from "../../core/errors.ts";
import { getLink, listLinks, setLink, setPortIsolated } from "./links.ts";
import { type Netlink, withNetlink } from "./netlink.ts";

export const TUN_PATH = "/dev/net/tun";
/** The kernel replaces %d with the first free number. */
export const DEFAULT_TAP_TEMPLATE = "vlt%d";

export interface TapOptions {
  /** Interface name or template with %d; default "vlt%d". */
  name?: string;
  /** Bridge to enslave the TAP to (must exist). */
  bridge?: string;
  /** Keep the virtio-net header on frames (for a VMM that wants offloads). Off by default. */
  vnetHdr?: boolean;
  /**
   * The offloads this fd's reader takes (implies vnetHdr): "checksum" (TUN_F_CSUM: unfinished
   * checksums), "tso" (also TSO for IPv4 and IPv6, with ECN: segments up to 64 KiB).
   */
  offload?: TapOffload;
  /** Close the fd on exec (default true). false lets a child such as qemu inherit it. */
  cloexec?: boolean;
  /** Bridge port isolation (needs `bridge`): no frames to or from other isolated ports. */
  isolated?: boolean;
}

export interface Tap {
  readonly fd: number;
  readonly ifname: string;
  /** Interface index: unlike the name, never reused while the kernel runs (until it wraps at 2^31). */
  readonly index: number;
  /** Closes the fd; the kernel then deletes the TAP. Idempotent. */
  close(): void;
}

export type TapOffload = "checksum" | "tso";
const OFFLOAD_FLAGS: Record<TapOffload, number> = { checksum: TUN_F_CSUM, tso: TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN };

const TAP_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.%-]{0,14}$/;

/** Opens a TAP, enslaves it to `bridge` if given, and sets it up. */
export function openTap(opts: TapOptions = {}): Tap {
  const name = opts.name ?? DEFAULT_TAP_TEMPLATE;
  if (!TAP_NAME_RE.test(name)) throw new UsageError(`invalid TAP name "${name}": 1-15 letters, digits, '_', '.', '-', '%d'`);
  const c = libc();
  const fd = check("open", c.open(Buffer.from(`${TUN_PATH}\0`), O_RDWR | (opts.cloexec === false ? 0 : O_CLOEXEC), 0), TUN_PATH);
  let closed = false;
  const close = () => {
    if (!closed) c.close(fd);
    closed = true;
  };
  try {
    const ifname = tunSetIff(fd, name, IFF_TAP | IFF_NO_PI | (opts.vnetHdr || opts.offload ? IFF_VNET_HDR : 0));
    if (opts.offload) setOffload(fd, ifname, OFFLOAD_FLAGS[opts.offload]);
    // Its index by name (an ioctl), not its whole link over netlink: on every helper's way to its start line.
    const index = c.if_nametoindex(Buffer.from(`${ifname}\0`));
    if (index === 0) throw new ConflictError(`TAP ${ifname} vanished right after it was created`);
    withNetlink((nl) => {
      let master: number | undefined;
      let mtu: number | undefined;
      if (opts.bridge) {
        const br = getLink(nl, opts.bridge);
        if (!br) throw new UsageError(`bridge "${opts.bridge}" does not exist`);
        master = br.index;
        mtu = br.mtu; // a port keeps its own MTU (1500) even when the bridge's was set lower
      }
      if (opts.isolated && master !== undefined) {
        setLink(nl, index, ifname, { master, mtu }); // a port first: isolation is a bridge port flag
        setPortIsolated(nl, index, ifname, true);
        setLink(nl, index, ifname, { up: true }); // up only once isolated: no frame slips through before
      } else setLink(nl, index, ifname, { master, mtu, up: true });
    });
    return { fd, ifname, index, close };
  } catch (e) {
    close();
    throw e;
  }
}

/**
 * Takes a TAP off its bridge and down, by index (its name may already belong to a newer TAP). A TAP
 * that is gone (its last fd closed) is fine.
 */
export function detachPort(nl: Netlink, index: number, ifname: string): void {
  const link = listLinks(nl).find((l) => l.index === index);
  if (!link || link.name !== ifname) return;
  setLink(nl, index, ifname, { master: 0, up: false });
}

/** A TAP whose fd survives exec, to hand to a child process (e.g. qemu -netdev tap,fd=N). */
export function openTapInheritable(opts: Omit<TapOptions, "cloexec"> = {}): Tap {
  return openTap({ ...opts, cloexec: false });
}

function tunSetIff(fd: number, name: string, flags: number): string {
  const { bytes, view } = alloc(ifreq);
  bytes.set(new TextEncoder().encode(name).subarray(0, IFNAMSIZ - 1), offsetOf(ifreq, "ifr_name"));
  write(ifreq, view, "ifr_ifru.ifru_flags", flags);
  check("ioctl", libc().ioctl(fd, TUNSETIFF, bytes), `TUNSETIFF ${name}`);
  const raw = bytes.subarray(0, IFNAMSIZ);
  const end = raw.indexOf(0);
  return new TextDecoder().decode(raw.subarray(0, end < 0 ? IFNAMSIZ : end));
}

/** The header size (the kernel's default, said explicitly) and the offloads; before the link is up. */
function setOffload(fd: number, ifname: string, flags: number): void {
  check("ioctl", libc().ioctl(fd, TUNSETVNETHDRSZ, new Int32Array([virtio_net_hdr.size])), `TUNSETVNETHDRSZ ${ifname}`);
  // TUNSETOFFLOAD takes its argument by value (an unsigned long), not through a pointer.
  check("ioctl", libc().ioctl(fd, TUNSETOFFLOAD, flags as unknown as Uint8Array), `TUNSETOFFLOAD ${ifname}`);
}
