/**
 * The services log under hostile guests, through the compiled binary (issue #12 item 5): floods
 * cost a bounded number of lines with summaries, a name with a newline cannot forge a line, and
 * an upstream that refuses (ECONNREFUSED) costs neither an exception per query nor a slow answer.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BUN } from "../../support/netns.ts";
import { Host } from "./support.ts";

const TIMEOUT_MS = 45_000;
let host: Host;

beforeAll(async () => {
  // Nothing listens on 127.0.0.1:5399 in the host namespace: every forwarded query is refused (ICMP).
  host = new Host({ VMLAN_DNS_UPSTREAM: "127.0.0.1:5399" });
  await host.ok("system", "start");
  await host.ok("network", "create", "logs", "--subnet", "10.91.9.0/24");
  await host.waitLog(/dhcp\[logs\]: listening/);
}, TIMEOUT_MS);

afterAll(async () => {
  await host?.close();
}, TIMEOUT_MS);

const lines = () => host.log().split("\n").filter(Boolean);

/** `n` DNS queries for `name(i)` from the host namespace; resolves with the answers' rcodes and the slowest answer (ms). */
async function queries(n: number, nameExpr: string): Promise<{ answered: number; rcodes: number[]; slowestMs: number }> {
  const code = `
    import dnsPacket from "dns-packet";
    const sent = new Map(); let answered = 0, slowest = 0; const rcodes = new Set();
    const s = await Bun.udpSocket({ socket: { data(_s, d) { answered++; rcodes.add(d[3] & 15); slowest = Math.max(slowest, performance.now() - sent.get((d[0] << 8) | d[1])); } } });
    for (let i = 0; i < ${n}; i++) {
      sent.set(i, performance.now());
      s.send(dnsPacket.encode({ type: "query", id: i, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: ${nameExpr}, class: "IN" }] }), 53, "10.91.9.1");
      await Bun.sleep(2);
    }
    await Bun.sleep(2500); s.close();
    console.log(JSON.stringify({ answered, rcodes: [...rcodes], slowestMs: Math.round(slowest) }));`;
  const r = host.ns.run([BUN, "-e", code]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

test("a query name with a newline is logged escaped: it cannot forge a line", async () => {
  await queries(1, `"evil\\n2030-01-01T00:00:00.000Z services: forged.example"`);
  await host.waitLog(/evil\\n2030/, 5000);
  expect(lines().some((l) => l.startsWith("2030-01-01T00:00:00.000Z"))).toBe(false);
}, TIMEOUT_MS);

test("an upstream that refuses: 300 queries get a quick SERVFAIL, no exception, and a few lines in all", async () => {
  const before = lines().length;
  const r = await queries(300, "`r${i}.example`");
  expect(r).toMatchObject({ answered: 300, rcodes: [2] });
  expect(r.slowestMs).toBeLessThan(1000); // refused is known at once: no 2 s timeout per query
  const added = lines().slice(before);
  expect(added.filter((l) => /unexpected|ECONNREFUSED: connection refused/.test(l))).toEqual([]);
  expect(added.length).toBeLessThanOrEqual(25);
}, TIMEOUT_MS);

test("clients that close their port before the answer comes back cost no exception and no line each", async () => {
  const before = lines().length;
  const code = `
    import dnsPacket from "dns-packet";
    for (let k = 0; k < 20; k++) {
      const s = await Bun.udpSocket({});
      for (let i = 0; i < 10; i++) s.send(dnsPacket.encode({ type: "query", id: i, questions: [{ type: "A", name: "gone" + k + "-" + i + ".example", class: "IN" }] }), 53, "10.91.9.1");
      s.close(); // before the SERVFAIL comes back: the daemon's answer meets a closed port (ICMP unreachable)
    }
    await Bun.sleep(500);`;
  expect(host.ns.run([BUN, "-e", code]).code).toBe(0);
  await Bun.sleep(300);
  const added = lines().slice(before);
  expect(added.filter((l) => /unexpected/.test(l))).toEqual([]);
  expect(added.length).toBeLessThanOrEqual(15);
}, TIMEOUT_MS);

test("300 DISCOVERs from made-up MACs and 50 from multicast ones: a bounded number of DHCP lines, with summaries", async () => {
  await host.ok("attach", "logs", "--id", "flooder", "--ip", "10.91.9.254");
  const flooder = host.cable("vl-logs", "f1", "02:91:09:00:00:fe");
  flooder.sh(["ip", "addr", "add", "10.91.9.254/24", "dev", "eth0"]);
  const before = lines().length;
  const r = flooder.run([BUN, "test/integration/services/dhcp-flood.ts", "10.91.9.1", "300", "7", "0"]);
  expect(r.code, r.stderr).toBe(0);
  const code = `
    import { buildRequest } from "${process.cwd()}/test/unit/services/dhcp-packets.ts";
    const s = await Bun.udpSocket({});
    for (let i = 0; i < 50; i++) s.send(buildRequest({ type: 1, mac: "01:00:5e:00:00:" + (i % 100).toString().padStart(2, "0") }), 67, "10.91.9.1");
    await Bun.sleep(100); s.close();`;
  expect(flooder.run([BUN, "-e", code]).code).toBe(0);
  await host.waitLog(/malformed DHCP packets ignored/, 5000);
  // Summaries follow each 10 s interval: the DHCP flood's, and the refused queries' from before.
  await host.waitLog(/dhcp\[logs\]: 2\d\d more DISCOVER lines in the last 1\d s \(latest: DISCOVER from /, 15_000);
  await host.waitLog(/dns\[logs\]: \d+ more unanswered lines in the last 1\d s/, 15_000);
  const added = lines().slice(before).filter((l) => l.includes("dhcp[logs]"));
  expect(added.length).toBeLessThanOrEqual(15);
  expect(added.some((l) => l.includes("DISCOVER from 01:00:5e"))).toBe(false); // not clients: counted as malformed
}, TIMEOUT_MS);
