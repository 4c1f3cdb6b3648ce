/**
 * The userspace fallback for published ports on IPv6 loopback: Linux has no route_localnet for IPv6,
 * so a connection to [::1]:PORT cannot be DNATed to a guest (the kernel drops the reply on the
 * bridge). The daemon's hold on that port accepts it and relays the bytes; everything else
 * (127.0.0.1, the host's addresses, the LAN, other guests) stays in the kernel's datapath. On macOS
 * the same relay serves what vmnet's forwarding cannot (holds.ts, carrier "proxy"), IPv4 included.
 */
import net from "node:net";
import dgram from "node:dgram";
import type { Logger } from "../log.ts";
import { RateLimited } from "../log.ts";
import { hostAddressText } from "../../core/ports/spec.ts";

/** Relays one accepted connection to guest:port, both ways, until either side closes. */
export function proxyTcp(client: net.Socket, guest: string, port: number, log: Logger): void {
  const upstream = net.connect({ host: guest, port });
  const fail = (e: Error) => {
    client.destroy();
    upstream.destroy();
    if ((e as { code?: string }).code !== "ECONNRESET") log(`proxy to ${hostAddressText(guest)}:${port}: ${e.message}`);
  };
  upstream.once("connect", () => {
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
  upstream.on("error", fail);
  client.on("error", fail);
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
}

/** A UDP flow idle this long is forgotten (conntrack's default for unreplied UDP is 30 s, replied 120 s). */
const UDP_IDLE_MS = 60_000;
/** At most this many clients at once per port: a flood of source ports cannot exhaust fds. */
const UDP_MAX_FLOWS = 256;

interface Flow { sock: dgram.Socket; timer: ReturnType<typeof setTimeout>; queued: Buffer[] | null }

/** Per client address, a socket connected to the guest; replies go back through the hold's socket. */
export class UdpRelay {
  readonly #flows = new Map<string, Flow>();
  readonly #full: RateLimited;

  constructor(private readonly hold: dgram.Socket, private readonly guest: string, private readonly port: number, log: Logger) {
    this.#full = new RateLimited(log, `UDP datagrams for ${hostAddressText(guest)}:${port} (too many flows)`);
  }

  forward(msg: Buffer, from: dgram.RemoteInfo): void {
    const key = `${from.address} ${from.port}`;
    let flow = this.#flows.get(key);
    if (!flow) {
      if (this.#flows.size >= UDP_MAX_FLOWS) {
        this.#full.hit(`${UDP_MAX_FLOWS} flows at once, from ${hostAddressText(from.address)}:${from.port}`);
        return;
      }
      const sock = dgram.createSocket(this.guest.includes(":") ? "udp6" : "udp4");
      sock.on("message", (reply) => {
        this.#touch(key);
        this.hold.send(reply, from.port, from.address);
      });
      sock.on("error", () => this.#end(key));
      // Datagrams that arrive before connect() completes wait for it (queued is null once connected).
      const f: Flow = { sock, timer: setTimeout(() => this.#end(key), UDP_IDLE_MS), queued: [] };
      sock.connect(this.port, this.guest, () => {
        for (const m of f.queued ?? []) sock.send(m);
        f.queued = null;
      });
      flow = f;
      this.#flows.set(key, flow);
    }
    this.#touch(key);
    if (flow.queued) flow.queued.push(msg);
    else flow.sock.send(msg);
  }

  #touch(key: string): void {
    const f = this.#flows.get(key);
    if (f) f.timer.refresh();
  }

  #end(key: string): void {
    const f = this.#flows.get(key);
    if (!f) return;
    clearTimeout(f.timer);
    this.#flows.delete(key);
    try {
      f.sock.close();
    } catch {}
  }

  close(): void {
    for (const key of [...this.#flows.keys()]) this.#end(key);
  }
}
