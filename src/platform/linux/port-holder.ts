/**
 * Who holds a host port, from /proc: the sockets of /proc/net/{tcp,tcp6,udp,udp6} bound to the port
 * (listening, for TCP) on an overlapping address, then the process whose /proc/PID/fd has that
 * socket's inode. Best effort: other users' processes are visible to root only; null when unknown.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { PortHolder } from "../types.ts";

/** TCP_LISTEN in the kernel's tcp_states.h, as /proc/net/tcp prints it (hex). */
const TCP_LISTEN = "0A";

/** /proc/net prints each 32-bit word of an address in host order (little-endian here) as 8 hex digits. */
function addressOf(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    for (let i = 6; i >= 0; i -= 2) bytes.push(parseInt(word.slice(i, i + 2), 16));
  }
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(":");
}

const isAny = (a: string) => a === "0.0.0.0" || /^(0:){7}0$/.test(a);

/** Socket inodes bound to `port` on an address that overlaps `ip` (the same, or either a wildcard). */
function inodes(proto: "tcp" | "udp", ip: string, port: number): number[] {
  const v6 = ip.includes(":");
  const want = v6 ? expand(ip) : ip;
  const out: number[] = [];
  for (const file of v6 ? [`${proto}6`] : [proto, `${proto}6`]) {
    let text = "";
    try {
      text = readFileSync(`/proc/net/${file}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [addrHex, portHex] = f[1]!.split(":");
      if (parseInt(portHex!, 16) !== port || (proto === "tcp" && f[3] !== TCP_LISTEN)) continue;
      const addr = addressOf(addrHex!);
      // A wildcard overlaps everything (a dual-stack [::] socket in tcp6 also takes IPv4).
      if (addr === want || isAny(addr) || isAny(want)) out.push(Number(f[9]));
    }
  }
  return out.filter((n) => n > 0);
}

/** "::1" → "0:0:0:0:0:0:0:1", as addressOf writes it. */
function expand(ip: string): string {
  const [head, tail] = ip.includes("::") ? ip.split("::") : [ip, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const mid = tail === undefined ? [] : Array(8 - h.length - t.length).fill("0");
  return [...h, ...mid, ...t].map((g) => parseInt(g, 16).toString(16)).join(":");
}

function owner(inode: number): PortHolder | null {
  const target = `socket:[${inode}]`;
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let link = "";
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (link !== target) continue;
      let program: string | null = null;
      try {
        program = readFileSync(`/proc/${pid}/comm`, "utf8").trim() || null;
      } catch {}
      return { pid: Number(pid), program };
    }
  }
  return null;
}

export function findHolder(proto: "tcp" | "udp", ip: string, port: number): PortHolder {
  for (const inode of inodes(proto, ip, port)) {
    const o = owner(inode);
    if (o) return o;
  }
  return { pid: null, program: null };
}
