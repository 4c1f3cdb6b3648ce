/**
 * getifaddrs(3): which interface holds an IPv4 address (macOS: vmnet's bridge carries the network's
 * gateway, the host's address on it, and is found by it). struct ifaddrs starts with {ifa_next,
 * ifa_name, ifa_flags (unsigned int), ifa_addr} on glibc and libSystem alike (LP64: offsets 0, 8, 16,
 * 24); the sockaddr's family is a u16 at 0 on Linux and a u8 at 1 on Darwin (after sa_len), and a
 * sockaddr_in's address is at 4 on both (<netinet/in.h>). AF_INET is 2 on both.
 */
import { FFIType, read, CString, type Pointer } from "bun:ffi";
import { lazyLibrary } from "../load.ts";
import { OS } from "./os.ts";

const AF_INET = 2;
const ifaddrsLib = lazyLibrary({
  name: "libc (getifaddrs)",
  envVar: "VMLAN_LIBC_PATH",
  defaultPath: OS.libcPath,
  symbols: {
    getifaddrs: { args: [FFIType.ptr], returns: FFIType.i32 },
    freeifaddrs: { args: [FFIType.ptr], returns: FFIType.void },
  },
});

/** Every interface's IPv4 addresses, as [ifname, "a.b.c.d"] pairs (empty when getifaddrs fails). */
export function ipv4Addresses(): [string, string][] {
  const head = new BigUint64Array(1);
  if (ifaddrsLib().getifaddrs(head) !== 0) return [];
  const out: [string, string][] = [];
  const first = Number(head[0]!) as Pointer;
  for (let p = first; p; p = read.ptr(p, 0) as Pointer) {
    const addr = read.ptr(p, 24) as Pointer;
    if (!addr) continue;
    const family = OS.name === "darwin" ? read.u8(addr, 1) : read.u16(addr, 0);
    if (family !== AF_INET) continue;
    const ip = [0, 1, 2, 3].map((i) => read.u8(addr, 4 + i)).join(".");
    out.push([new CString(read.ptr(p, 8) as Pointer).toString(), ip]);
  }
  if (first) ifaddrsLib().freeifaddrs(first);
  return out;
}

/** The interface that holds `ip`, or null. */
export function interfaceWithAddress(ip: string): string | null {
  return ipv4Addresses().find(([, a]) => a === ip)?.[0] ?? null;
}
