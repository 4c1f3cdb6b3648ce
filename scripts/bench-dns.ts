/**
 * `bun run bench dns-flood`: the services daemon under a DNS flood, as issue #12 measured it.
 *
 *   blaster (guest namespace) ── veth ── bridge vl-flood ── vmlan services (host namespace) ── veth ── test resolver
 *
 * The guest sends BENCH_DNS_QPS queries per second (6000) for BENCH_DNS_SECONDS (30), each for a
 * new name the upstream answers with NXDOMAIN and no SOA (nothing cacheable: every query is
 * forwarded, the worst case). Reported: queries answered, lost, the daemon's open fds and RSS
 * before, at the peak and after. With BENCH_DNS_BASELINE=/path/to/other/vmlan the same flood runs
 * against that binary first (e.g. a previous build), so the two are measured in the same run.
 * All namespaces are the bench's own (test/support/netns.ts) and are deleted afterwards.
 */
import { vmlanBin } from "../test/support/binary.ts";
import { BUN } from "../test/support/netns.ts";
import { Host } from "../test/integration/services/support.ts";

type Row = { binary: string; sent: number; answered: number; lostPct: number; fds: [number, number, number]; rssMiB: [number, number, number] };

const QPS = Number(process.env.BENCH_DNS_QPS ?? 6000);
const SECONDS = Number(process.env.BENCH_DNS_SECONDS ?? 30);

const BLASTER = (qps: number, seconds: number) => `
  import dnsPacket from "dns-packet";
  let answered = 0, sent = 0;
  const s = await Bun.udpSocket({ socket: { data() { answered++; } } });
  const perTick = Math.ceil(${qps} / 100), end = performance.now() + ${seconds * 1000};
  let next = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < perTick; i++, sent++) {
      s.send(dnsPacket.encode({ type: "query", id: sent & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: "q" + sent + ".flood.example", class: "IN" }] }), 53, "10.95.0.1");
    }
    next += 10;
    await Bun.sleep(Math.max(0, next - performance.now()));
  }
  await Bun.sleep(3000); // the upstream timeout (2 s) and then some
  s.close();
  console.log(JSON.stringify({ sent, answered }));`;

async function flood(bin: string): Promise<Row> {
  process.env.VMLAN_BIN = bin;
  const host = new Host({ VMLAN_DNS_UPSTREAM: "10.252.9.2" });
  try {
    const upstream = await host.startUpstream("10.252.9.2");
    await host.ok("system", "start");
    await host.ok("network", "create", "flood", "--subnet", "10.95.0.0/24");
    await host.waitLog(/dns\[flood\]: listening/);
    await host.ok("attach", "flood", "--id", "blaster", "--ip", "10.95.0.254");
    const guest = host.cable("vl-flood", "b1", "02:95:00:00:00:fe");
    guest.sh(["ip", "addr", "add", "10.95.0.254/24", "dev", "eth0"]);
    const mib = (kib: number) => Math.round(kib / 102.4) / 10;
    const before = host.daemonUsage();
    const peak = { ...before };
    const sampler = setInterval(() => {
      const u = host.daemonUsage();
      peak.fds = Math.max(peak.fds, u.fds);
      peak.rssKiB = Math.max(peak.rssKiB, u.rssKiB);
    }, 250);
    console.error(`bench: dns-flood ${QPS} queries/s for ${SECONDS} s against ${bin}`);
    const p = guest.spawn([BUN, "-e", BLASTER(QPS, SECONDS)]);
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearInterval(sampler);
    if (code !== 0) throw new Error(`blaster failed: ${err}`);
    const after = host.daemonUsage();
    if (process.env.BENCH_DNS_LOG) console.error(host.log().split("\n").filter((l) => /more|dropped|refused/.test(l)).join("\n"));
    upstream.stop();
    const { sent, answered } = JSON.parse(out) as { sent: number; answered: number };
    return {
      binary: bin, sent, answered, lostPct: Math.round((1000 * (sent - answered)) / sent) / 10,
      fds: [before.fds, peak.fds, after.fds], rssMiB: [mib(before.rssKiB), mib(peak.rssKiB), mib(after.rssKiB)],
    };
  } finally {
    await host.close();
  }
}

export async function dnsFlood(o: { json: boolean }): Promise<never[]> {
  if (process.getuid?.() !== 0) throw new Error("dns-flood needs root: it creates network namespaces");
  const ours = vmlanBin();
  const rows: Row[] = [];
  if (process.env.BENCH_DNS_BASELINE) rows.push(await flood(process.env.BENCH_DNS_BASELINE));
  rows.push(await flood(ours));
  if (o.json) console.log(JSON.stringify({ bench: "dns-flood", qps: QPS, seconds: SECONDS, results: rows }, null, 2));
  else {
    const head = ["binary", "sent", "answered", "lost %", "fds before/peak/after", "RSS MiB before/peak/after"];
    const body = rows.map((r) => [r.binary, String(r.sent), String(r.answered), r.lostPct.toFixed(1), r.fds.join("/"), r.rssMiB.join("/")]);
    const widths = head.map((_, i) => Math.max(head[i]!.length, ...body.map((b) => b[i]!.length)));
    for (const line of [head, ...body]) console.log(line.map((c, i) => c.padEnd(widths[i]!)).join("  "));
  }
  return [];
}
