/**
 * A tiny upstream resolver for the forwarding tests, run inside the test's own upstream namespace,
 * on port 53: "upstream.example" A is 203.0.113.7 over UDP and 203.0.113.8 over TCP (TEST-NET-3;
 * the two tell the transports apart; TTL 60), any name under "ttl60.example" A is 203.0.113.60
 * (UDP) or .61 (TCP) with TTL 60, "count.example" TXT is how many queries it has
 * received (TTL 0, so never cached), names under "silent.example" get no answer at all, and
 * everything else is NXDOMAIN. Prints "ready" once bound.
 */
import dnsPacket from "dns-packet";
import { assertInTestNetns } from "../../support/netns.ts";

assertInTestNetns();
let received = 0;

function reply(query: Uint8Array, address: string): Uint8Array | null {
  received++;
  try {
    const q = dnsPacket.decode(Buffer.from(query));
    const question = q.questions![0]!;
    const name = question.name.toLowerCase();
    if (name.endsWith(".silent.example")) return null;
    const answers: dnsPacket.Answer[] = [];
    if (name === "upstream.example" && question.type === "A") answers.push({ type: "A", name: question.name, ttl: 60, class: "IN", data: address });
    if (name.endsWith(".ttl60.example") && question.type === "A") answers.push({ type: "A", name: question.name, ttl: 60, class: "IN", data: address.endsWith(".7") ? "203.0.113.60" : "203.0.113.61" });
    if (name === "count.example") answers.push({ type: "TXT", name: question.name, ttl: 0, class: "IN", data: String(received) });
    return new Uint8Array(dnsPacket.encode({
      type: "response", id: q.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (answers.length > 0 ? 0 : 3),
      questions: [question], answers, additionals: q.additionals?.some((a) => a.type === "OPT") ? [{ type: "OPT", name: ".", udpPayloadSize: 1232 } as unknown as dnsPacket.Answer] : [],
    }));
  } catch {
    return null;
  }
}

await Bun.udpSocket({
  hostname: "0.0.0.0", port: 53,
  socket: { data(sock, data, port, address) { const r = reply(data, "203.0.113.7"); if (r) sock.send(r, port, address); } },
});
Bun.listen<{ buf: Uint8Array }>({
  hostname: "0.0.0.0", port: 53,
  socket: {
    open(s) { s.data = { buf: new Uint8Array(0) }; },
    data(s, d) {
      const buf = new Uint8Array(s.data.buf.length + d.length);
      buf.set(s.data.buf);
      buf.set(d, s.data.buf.length);
      s.data.buf = buf;
      const len = buf.length >= 2 ? (buf[0]! << 8) | buf[1]! : -1;
      if (len < 0 || buf.length < len + 2) return;
      const r = reply(buf.subarray(2, len + 2), "203.0.113.8");
      if (r) s.write(Uint8Array.of(r.length >> 8, r.length & 0xff, ...r));
      s.data.buf = buf.slice(len + 2);
    },
  },
});
console.log("ready");
