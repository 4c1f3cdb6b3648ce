/**
 * A DHCP flood from one guest namespace: DISCOVERs from COUNT made-up MACs (seeded, so a failure
 * replays), and for every REQUEST_EVERY-th MAC a REQUEST of what it was offered, as a hostile
 * guest would. Listens on port 68 for the broadcast replies and prints one JSON line:
 * { offers, acks, acked: [addresses] }.
 *
 *   bun dhcp-flood.ts SERVER_IP COUNT SEED REQUEST_EVERY
 */
import { assertInTestNetns } from "../../support/netns.ts";
import { buildRequest } from "../../unit/services/dhcp-packets.ts";

assertInTestNetns();
const [server = "", count = "300", seedArg = "1", every = "0"] = process.argv.slice(2);
let seed = Number(seedArg) >>> 0 || 1;
/** xorshift32: the same seed gives the same MACs. */
const rand = () => ((seed ^= seed << 13), (seed ^= seed >>> 17), (seed ^= seed << 5), seed >>> 0);
const hex = (n: number) => (n & 0xff).toString(16).padStart(2, "0");
const macs = Array.from({ length: Number(count) }, () => `02:${hex(rand())}:${hex(rand())}:${hex(rand())}:${hex(rand())}:${hex(rand())}`);
const wantsRequest = new Set(macs.filter((_, i) => Number(every) > 0 && i % Number(every) === 0));

let offers = 0;
const acked: string[] = [];
const sock = await Bun.udpSocket({
  port: 68,
  socket: {
    data(s, d) {
      const b = new Uint8Array(d);
      if (b.length < 244 || b[0] !== 2) return;
      const mac = Array.from(b.subarray(28, 34), hex).join(":");
      const yiaddr = Array.from(b.subarray(16, 20)).join(".");
      const xid = new DataView(b.buffer, b.byteOffset).getUint32(4);
      const type = findType(b);
      if (type === 2) {
        offers++;
        if (wantsRequest.has(mac)) {
          s.send(buildRequest({ type: 3, mac, xid, options: [[54, Uint8Array.from(server.split(".").map(Number))], [50, Uint8Array.from(yiaddr.split(".").map(Number))]] }), 67, server);
        }
      } else if (type === 5) acked.push(yiaddr);
    },
  },
});

function findType(b: Uint8Array): number {
  for (let i = 240; i + 1 < b.length && b[i] !== 255; i += b[i] === 0 ? 1 : 2 + b[i + 1]!) if (b[i] === 53) return b[i + 2]!;
  return 0;
}

for (const [i, mac] of macs.entries()) {
  sock.send(buildRequest({ type: 1, mac, xid: i + 1 }), 67, server);
  if (i % 20 === 19) await Bun.sleep(5); // ~4,000 packets/s: a flood, but one the socket buffers can carry
}
await Bun.sleep(1500);
sock.close();
console.log(JSON.stringify({ offers, acks: acked.length, acked }));
