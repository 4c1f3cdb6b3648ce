/**
 * A fake guest on the VM side of `vmlan helper`/`vmlan run`: one Ethernet frame per datagram on an
 * inherited fd (--fd N, the socketpair end `vmlan run` passes) or as a client of a helper's --socket
 * (binds its own path, sends vfkit's 4-byte "VFKT" greeting first). Answers ARP and ICMP echo for one
 * address and optionally pings another. Touches no interface, so it needs no namespace of its own.
 *   bun test/support/dgram-guest.ts (--fd N | --socket PATH) --ip A --mac M [--ping T [--via GW]]
 *       [--malformed]   first send 4 malformed datagrams: empty, 4 bytes, 13 bytes, 1600 bytes
 * stdout: "ready", then "ping ok <ip>" or "ping fail <ip>". Exits 0 on SIGTERM or when its fd dies.
 */
import { parseArgs } from "node:util";
import { rmSync } from "node:fs";
import { libc } from "../../ffi/libc/load.ts";
import { AF_UNIX, SOCK_DGRAM } from "../../ffi/libc/constants.ts";
import { libcDatapath } from "../../ffi/libc/datapath.ts";
import { respond } from "./responder.ts";

const { values: o } = parseArgs({
  options: {
    fd: { type: "string" }, socket: { type: "string" }, ip: { type: "string" }, mac: { type: "string" },
    ping: { type: "string" }, via: { type: "string" }, timeout: { type: "string", default: "5000" },
    malformed: { type: "boolean" },
  },
});
if (!o.ip || !o.mac || (!o.fd && !o.socket)) throw new Error("usage: (--fd N | --socket PATH) --ip A --mac M [--ping T [--via GW]] [--malformed]");
const c = libc();

function sockaddr(path: string): Uint8Array {
  const sa = new Uint8Array(110);
  sa[0] = AF_UNIX;
  sa.set(new TextEncoder().encode(path), 2);
  return sa;
}

let fd: number;
let clientPath: string | undefined;
if (o.fd) fd = Number(o.fd);
else {
  fd = c.socket(AF_UNIX, SOCK_DGRAM, 0);
  clientPath = `${o.socket}.guest-${process.pid}`;
  rmSync(clientPath, { force: true });
  const mine = sockaddr(clientPath);
  if (c.bind(fd, mine, mine.length) < 0) throw new Error(`bind ${clientPath} failed`);
  const theirs = sockaddr(o.socket!);
  if (libcDatapath().connect(fd, theirs, theirs.length) < 0) throw new Error(`connect ${o.socket} failed`);
  const hello = new TextEncoder().encode("VFKT");
  c.send(fd, hello, hello.length, 0);
}

let stopping = false;
process.on("SIGTERM", () => { stopping = true; });
process.on("SIGINT", () => { stopping = true; });

if (o.malformed) {
  for (const n of [0, 4, 13, 1600]) {
    const junk = new Uint8Array(Math.max(n, 1)).fill(0xab);
    c.write(fd, junk, n);
  }
}

console.log("ready");
// read/write rather than recv/send: with --native the fd is a TAP, not a socket.
await respond({ fd, ip: o.ip, mac: o.mac, ping: o.ping, via: o.via, timeoutMs: Number(o.timeout), tag: "vmlan-dgram-guest" }, () => stopping);
c.close(fd);
if (clientPath) rmSync(clientPath, { force: true });
process.exit(0);
