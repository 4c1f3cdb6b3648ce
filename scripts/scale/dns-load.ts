/**
 * DNS load from a guest namespace, run by `bench scale`: QPS queries per second for SECONDS, each
 * an A query for one of NAMES guests (`guest-<k>`, picked at random; all exist, so every answer
 * must be NOERROR with an address), paced in 10 ms slices. Latency per query by its id (a 16-bit
 * id space covers 13 s at 5,000/s, far more than any answer takes). Prints one JSON line.
 *
 *   bun scripts/scale/dns-load.ts SERVER QPS SECONDS NAMES
 */
import dnsPacket from "dns-packet";

const [server, qpsText, secondsText, namesText] = process.argv.slice(2);
const QPS = Number(qpsText), SECONDS = Number(secondsText), NAMES = Number(namesText);
const sentAt = new Float64Array(65536).fill(NaN);
const latencies: number[] = [];
let sent = 0, answered = 0, noerror = 0, withAddress = 0, late = 0;

const sock = await Bun.udpSocket({
  socket: {
    data(_s, data) {
      const b = new Uint8Array(data);
      if (b.length < 12) return;
      const id = (b[0]! << 8) | b[1]!;
      const t = sentAt[id]!;
      if (Number.isNaN(t)) return void late++;
      sentAt[id] = NaN;
      latencies.push(performance.now() - t);
      answered++;
      if ((b[3]! & 0x0f) === 0) noerror++;
      if (((b[6]! << 8) | b[7]!) > 0) withAddress++; // ANCOUNT
    },
    error() {},
  },
});

const perSlice = Math.ceil(QPS / 100);
const t0 = performance.now();
const end = t0 + SECONDS * 1000;
let next = t0;
while (performance.now() < end) {
  for (let i = 0; i < perSlice; i++, sent++) {
    const id = sent & 0xffff;
    const name = `guest-${Math.floor(Math.random() * NAMES)}`;
    sentAt[id] = performance.now();
    sock.send(dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name, class: "IN" }] }), 53, server!);
  }
  next += 10;
  await Bun.sleep(Math.max(0, next - performance.now()));
}
const sendSeconds = (performance.now() - t0) / 1000;
await Bun.sleep(2000); // stragglers
sock.close();
latencies.sort((a, b) => a - b);
const at = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]! : null);
console.log(JSON.stringify({ sent, answered, noerror, withAddress, late, answersPerSecond: answered / sendSeconds, p50: at(0.5), p99: at(0.99) }));
