/**
 * COUNT DHCP clients arriving at once, run inside a guest namespace by `bench scale`: each a MAC of
 * its own doing the whole exchange (DISCOVER → OFFER → REQUEST → ACK, RFC 2131 §3.1) as a client
 * would, retransmitting after 2 s without an answer (udhcpc waits 3 s) and starting over on a NAK.
 * Sent to the server's address (this namespace has one on the network), answered on port 68.
 * Prints one JSON line: clients bound, exchange latencies (first DISCOVER to ACK), retransmissions.
 *
 *   bun scripts/scale/dhcp-clients.ts SERVER COUNT RUN
 */
import { buildRequest } from "../../test/unit/services/dhcp-packets.ts";
import { parseOptions } from "../../src/services/dhcp/wire.ts";

const [server, countText, runText] = process.argv.slice(2);
const COUNT = Number(countText);
const RUN = Number(runText);
const RETRANSMIT_MS = 2000;
const GIVE_UP_MS = 30_000;

type Client = { mac: string; xid: number; state: "discover" | "request" | "bound"; offered: Uint8Array | null; serverId: Uint8Array | null; start: number; sentAt: number; ms: number };

const clients: Client[] = [];
const byXid = new Map<number, Client>();
for (let i = 0; i < COUNT; i++) {
  const mac = `02:5c:${RUN.toString(16).padStart(2, "0")}:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
  const c: Client = { mac, xid: ((RUN << 16) | i) >>> 0, state: "discover", offered: null, serverId: null, start: 0, sentAt: 0, ms: NaN };
  clients.push(c);
  byXid.set(c.xid, c);
}

let retransmits = 0, naks = 0;
const sock = await Bun.udpSocket({
  port: 68,
  socket: {
    data(_s, data) {
      const b = new Uint8Array(data);
      if (b.length < 240 || b[0] !== 2) return;
      const c = byXid.get(new DataView(b.buffer, b.byteOffset).getUint32(4));
      if (!c || c.state === "bound") return;
      const opts = parseOptions(b.subarray(240));
      const type = opts.get(53)?.[0];
      if (type === 2 && c.state === "discover") {
        c.offered = b.slice(16, 20);
        c.serverId = opts.get(54) ?? null;
        c.state = "request";
        send(c);
      } else if (type === 5 && c.state === "request") {
        c.state = "bound";
        c.ms = performance.now() - c.start;
      } else if (type === 6) {
        naks++;
        c.state = "discover";
        send(c);
      }
    },
    error() {},
  },
});

function send(c: Client): void {
  const options: Array<[number, Uint8Array]> = c.state === "request" ? [[50, c.offered!], ...(c.serverId ? [[54, c.serverId] as [number, Uint8Array]] : [])] : [];
  sock.send(buildRequest({ type: c.state === "request" ? 3 : 1, mac: c.mac, xid: c.xid, flags: 0x8000, options }), 67, server!);
  c.sentAt = performance.now();
}

const t0 = performance.now();
for (const c of clients) {
  c.start = performance.now();
  send(c);
}
while (clients.some((c) => c.state !== "bound") && performance.now() - t0 < GIVE_UP_MS) {
  await Bun.sleep(100);
  const now = performance.now();
  for (const c of clients) {
    if (c.state !== "bound" && now - c.sentAt > RETRANSMIT_MS) {
      retransmits++;
      send(c);
    }
  }
}
sock.close();
const ms = clients.filter((c) => c.state === "bound").map((c) => c.ms).sort((a, b) => a - b);
const at = (q: number) => (ms.length ? ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)]! : null);
console.log(JSON.stringify({ clients: COUNT, bound: ms.length, allBoundMs: ms.length === COUNT ? ms[ms.length - 1] : null, p50: at(0.5), p99: at(0.99), retransmits, naks }));
