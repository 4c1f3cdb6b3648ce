/**
 * Forwarding with bounded resources through the compiled binary (issue #12 item 6): a burst of
 * queries the upstream never answers must not cost a socket each, repeated names come from the
 * cache (the upstream counts what reaches it), and vmlan's own answers carry EDNS0, SOA and, in
 * SERVFAIL, the question. Clients: dig and a Bun UDP blaster in the host namespace.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BUN, type Netns } from "../../support/netns.ts";
import { Host } from "./support.ts";

const TIMEOUT_MS = 45_000;
const UPSTREAM = "10.252.4.2";
let host: Host;
let resolver: { stop(): void };
let guest: Netns;

beforeAll(async () => {
  host = new Host({ VMLAN_DNS_UPSTREAM: UPSTREAM });
  resolver = await host.startUpstream(UPSTREAM);
  await host.ok("system", "start");
  await host.ok("network", "create", "fwd", "--subnet", "10.92.4.0/24");
  await host.ok("attach", "fwd", "--id", "web");
  await host.waitLog(/dns\[fwd\]: listening/);
  await host.ok("attach", "fwd", "--id", "flooder", "--ip", "10.92.4.254");
  guest = host.cable("vl-fwd", "g1", "02:92:04:00:00:fe");
  guest.sh(["ip", "addr", "add", "10.92.4.254/24", "dev", "eth0"]);
}, TIMEOUT_MS);

afterAll(async () => {
  resolver?.stop();
  await host?.close();
}, TIMEOUT_MS);

const dig = (...args: string[]) => host.ns.sh(["dig", "+time=4", "+tries=1", "@10.92.4.1", ...args]).trim();
const upstreamCount = () => Number(JSON.parse(dig("+short", "count.example", "TXT") || "0"));

/** From a guest namespace, `n` queries for distinct names under `suffix` as fast as it can; how many answers came back within `waitMs`. */
async function blast(n: number, suffix: string, waitMs: number): Promise<{ answered: number; rcodes: number[] }> {
  const code = `
    import dnsPacket from "dns-packet";
    let answered = 0; const rcodes = new Set();
    const s = await Bun.udpSocket({ socket: { data(_s, d) { answered++; rcodes.add(d[3] & 15); } } });
    for (let i = 0; i < ${n}; i++) {
      s.send(dnsPacket.encode({ type: "query", id: i & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: "q" + i + ".${suffix}", class: "IN" }] }), 53, "10.92.4.1");
      if (i % 100 === 99) await Bun.sleep(1);
    }
    await Bun.sleep(${waitMs}); s.close();
    console.log(JSON.stringify({ answered, rcodes: [...rcodes] }));`;
  const p = guest.spawn([BUN, "-e", code]); // not spawnSync: the caller samples the daemon meanwhile
  const [out, err, exit] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (exit !== 0) throw new Error(err);
  return JSON.parse(out);
}

test("2,000 queries the upstream never answers, from one guest: the daemon's fds stay bounded, and everyone else is still answered", async () => {
  const before = host.daemonUsage();
  let peak = before.fds;
  const sampler = setInterval(() => { peak = Math.max(peak, host.daemonUsage().fds); }, 50);
  await blast(2000, "silent.example", 500);
  clearInterval(sampler);
  peak = Math.max(peak, host.daemonUsage().fds);
  expect(peak - before.fds).toBeLessThan(30); // a few upstream sockets, not one per query
  expect(dig("+short", "web")).toMatch(/^10\.92\.4\.\d+$/); // its own names still answer at once
  expect(dig("+short", "other.ttl60.example")).toBe("203.0.113.60"); // and another client's forwarded query too
  await host.waitLog(/dns\[fwd\]: .*(no upstream answered|dropped)/, 10_000);
}, TIMEOUT_MS);

test("a repeated name is answered from the cache within its TTL: the upstream sees it once", () => {
  const start = upstreamCount();
  for (let i = 0; i < 5; i++) expect(dig("+short", "again.ttl60.example")).toBe("203.0.113.60");
  expect(upstreamCount() - start).toBe(2); // one again.ttl60.example, plus the count query itself
}, TIMEOUT_MS);

test("EDNS0 answered with OPT, negative answers with the zone's SOA, SERVFAIL with its question", () => {
  expect(dig("+edns=0", "web.fwd.vmlan")).toMatch(/; EDNS: version: 0, flags:; udp: 1232/);
  expect(dig("+noedns", "web.fwd.vmlan")).not.toContain("OPT PSEUDOSECTION");
  const nx = dig("nope.fwd.vmlan");
  expect(nx).toContain("status: NXDOMAIN");
  expect(nx).toMatch(/AUTHORITY SECTION:\nfwd\.vmlan\.\s+10\s+IN\s+SOA\s+gateway\.fwd\.vmlan\. hostmaster\.fwd\.vmlan\. 1 3600 600 86400 10/);
  const fail = dig("+edns=0", "never.silent.example");
  expect(fail).toContain("status: SERVFAIL");
  expect(fail).toContain("QUERY: 1, ANSWER: 0");
  expect(fail).toMatch(/QUESTION SECTION:\n;never\.silent\.example\.\s+IN\s+A/);
  expect(fail).toContain("; EDNS: version: 0");
}, TIMEOUT_MS);

test("100 idle TCP connections from a guest cost at most 20 fds (dnsmasq's max-tcp-connections); TCP queries still work", async () => {
  const before = host.daemonUsage().fds;
  const code = `
    const socks = [];
    for (let i = 0; i < 100; i++) socks.push(await Bun.connect({ hostname: "10.92.4.1", port: 53, socket: { data() {}, close() {}, error() {} } }).catch(() => null));
    await Bun.sleep(1500);
    for (const s of socks) s?.end();`;
  const p = guest.spawn([BUN, "-e", code]);
  await Bun.sleep(1000);
  const during = host.daemonUsage().fds;
  await p.exited;
  expect(during - before).toBeLessThanOrEqual(22);
  await Bun.sleep(300);
  expect(dig("+short", "+tcp", "web.fwd.vmlan")).toMatch(/^10\.92\.4\.\d+$/);
}, TIMEOUT_MS);
