/**
 * `bun run bench dns-flood` and `bun run bench dhcp-flood`: the services daemon under the floods
 * issue #12 measured.
 *
 *   blaster (guest namespace) ── veth ── bridge vl-flood ── vmlan services (host namespace) ── veth ── test resolver
 *
 * dns-flood: the guest sends BENCH_QPS queries per second (6000) for BENCH_SECONDS (30), each for
 * a new name the upstream answers with NXDOMAIN and no SOA (nothing cacheable: every query is
 * forwarded, the worst case). dhcp-flood: DISCOVERs and REQUESTs from made-up MACs at BENCH_PPS
 * (20,000) for BENCH_SECONDS, after 20 `vmlan attach` ids; afterwards those must hold the same
 * addresses (lost) and no address may be leased twice (duplicated). Reported: answered, lost, the
 * daemon's open fds and RSS before, at the peak and after. With BENCH_BASELINE=/other/vmlan the
 * same flood runs against that binary first (e.g. a previous build), measured in the same run.
 * BENCH_LOG=1 prints the daemon's summary lines. All namespaces are the bench's own
 * (test/support/netns.ts) and are deleted afterwards.
 */
import { vmlanBin } from "../test/support/binary.ts";
import { BUN } from "../test/support/netns.ts";
import { Host } from "../test/integration/services/support.ts";
import { loadAverage, ratio, type Report } from "./bench-report.ts";

type Row = {
  binary: string; sent: number; answered: number; lostPct: number; fds: [number, number, number]; rssMiB: [number, number, number];
  leasesLost?: number; leasesDuplicated?: number;
};

const QPS = Number(process.env.BENCH_QPS ?? 6000);
const PPS = Number(process.env.BENCH_PPS ?? 20_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const SUBNET = "10.95.0.0/16";
const GATEWAY = "10.95.0.1";

/** Sends `perTick` packets every 10 ms for `seconds`, counting what comes back; `packet(i)` is JS source. */
const blaster = (port: number, listen: number | null, perTick: number, seconds: number, packet: string, imports: string) => `
  ${imports}
  let answered = 0, sent = 0;
  const s = await Bun.udpSocket({ ${listen ? `port: ${listen}, ` : ""}socket: { data() { answered++; }, error() {} } });
  const end = performance.now() + ${seconds * 1000};
  let next = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < ${perTick}; i++, sent++) s.send(${packet}, ${port}, "${GATEWAY}");
    next += 10;
    await Bun.sleep(Math.max(0, next - performance.now()));
  }
  await Bun.sleep(3000); // the upstream timeout (2 s) and then some
  s.close();
  console.log(JSON.stringify({ sent, answered }));`;

const DNS = blaster(53, null, Math.ceil(QPS / 100), SECONDS,
  `dnsPacket.encode({ type: "query", id: sent & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: "q" + sent + ".flood.example", class: "IN" }] })`,
  `import dnsPacket from "dns-packet";`);
// Even packets DISCOVER, odd ones REQUEST the address the MAC would get next (mostly NAKed): both paths of the policy.
const DHCP = blaster(67, 68, Math.ceil(PPS / 100), SECONDS,
  `buildRequest({ type: sent % 2 ? 3 : 1, mac: "02:" + [24, 16, 8, 0].map((b) => ((sent >> 1) >>> b & 255).toString(16).padStart(2, "0")).join(":") + ":" + (sent % 251).toString(16).padStart(2, "0"), xid: sent, options: sent % 2 ? [[50, Uint8Array.of(10, 95, (sent >> 9) & 255, (sent >> 1) & 255)]] : [] })`,
  `import { buildRequest } from "${import.meta.dir}/../test/unit/services/dhcp-packets.ts";`);

type Attachment = { id: string; address: string };

async function flood(bin: string, kind: "dns" | "dhcp"): Promise<Row> {
  process.env.VMLAN_BIN = bin;
  const host = new Host({ VMLAN_DNS_UPSTREAM: "10.252.9.2" });
  try {
    const upstream = await host.startUpstream("10.252.9.2");
    await host.ok("system", "start");
    await host.ok("network", "create", "flood", "--subnet", SUBNET);
    await host.waitLog(/dns\[flood\]: listening/);
    await host.ok("attach", "flood", "--id", "blaster", "--ip", "10.95.255.254");
    const known = new Map<string, string>();
    if (kind === "dhcp") for (let i = 0; i < 20; i++) known.set(`known${i}`, (await host.json<Attachment>("attach", "flood", "--id", `known${i}`)).address);
    const guest = host.cable("vl-flood", "b1", "02:95:00:00:00:fe");
    guest.sh(["ip", "addr", "add", "10.95.255.254/16", "dev", "eth0"]);
    const mib = (kib: number) => Math.round(kib / 102.4) / 10;
    const before = host.daemonUsage();
    const peak = { ...before };
    const sampler = setInterval(() => {
      const u = host.daemonUsage();
      peak.fds = Math.max(peak.fds, u.fds);
      peak.rssKiB = Math.max(peak.rssKiB, u.rssKiB);
    }, 250);
    console.error(`bench: ${kind}-flood ${kind === "dns" ? QPS : PPS} packets/s for ${SECONDS} s against ${bin}`);
    const p = guest.spawn([BUN, "-e", kind === "dns" ? DNS : DHCP]);
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearInterval(sampler);
    if (code !== 0) throw new Error(`blaster failed: ${err}`);
    const after = host.daemonUsage();
    if (process.env.BENCH_LOG) console.error(host.log().split("\n").filter((l) => /more|dropped|refused/.test(l)).join("\n"));
    upstream.stop();
    const { sent, answered } = JSON.parse(out) as { sent: number; answered: number };
    const row: Row = {
      binary: bin, sent, answered, lostPct: Math.round((1000 * (sent - answered)) / sent) / 10,
      fds: [before.fds, peak.fds, after.fds], rssMiB: [mib(before.rssKiB), mib(peak.rssKiB), mib(after.rssKiB)],
    };
    if (kind === "dhcp") {
      const all = await host.json<Attachment[]>("attachments", "flood");
      const have = new Map(all.map((a) => [a.id, a.address]));
      row.leasesLost = [...known].filter(([id, addr]) => have.get(id) !== addr).length;
      row.leasesDuplicated = all.length - new Set(all.map((a) => a.address)).size;
    }
    return row;
  } finally {
    await host.close();
  }
}

async function run(kind: "dns" | "dhcp"): Promise<Report> {
  if (process.getuid?.() !== 0) throw new Error(`${kind}-flood needs root: it creates network namespaces`);
  const ours = vmlanBin();
  const rows: Row[] = [];
  if (process.env.BENCH_BASELINE) rows.push(await flood(process.env.BENCH_BASELINE, kind));
  rows.push(await flood(ours, kind));
  const medians: Report["medians"] = {};
  for (const r of rows) {
    const who = r.binary === ours ? "" : ` (${r.binary})`;
    medians[`unanswered %${who}`] = r.lostPct;
    medians[`daemon RSS MiB peak${who}`] = r.rssMiB[1];
    medians[`daemon fds peak${who}`] = r.fds[1];
    if (kind === "dhcp") Object.assign(medians, { [`leases lost${who}`]: r.leasesLost ?? null, [`leases duplicated${who}`]: r.leasesDuplicated ?? null });
  }
  const base = rows.length > 1 ? rows[0]! : null, mine = rows[rows.length - 1]!;
  const head = ["binary", "sent", "answered", "unanswered %", "fds before/peak/after", "RSS MiB before/peak/after", ...(kind === "dhcp" ? ["leases lost", "duplicated"] : [])];
  return {
    bench: `${kind}-flood`, inputs: { rate: kind === "dns" ? QPS : PPS, seconds: SECONDS, binary: ours, baseline: process.env.BENCH_BASELINE ?? null, loadavg: await loadAverage() },
    medians, ratios: base ? { "peak RSS / baseline's": ratio(mine.rssMiB[1], base.rssMiB[1]), "peak fds / baseline's": ratio(mine.fds[1], base.fds[1]) } : {},
    tables: [{
      head, note: "one run each (a flood is long); before/peak/after: the daemon before the flood, its peak, and after",
      rows: rows.map((r) => [r.binary, r.sent, r.answered, r.lostPct, r.fds.join("/"), r.rssMiB.join("/"), ...(kind === "dhcp" ? [r.leasesLost ?? null, r.leasesDuplicated ?? null] : [])]),
    }],
    detail: rows,
  };
}

export const dnsFlood = () => run("dns");
export const dhcpFlood = () => run("dhcp");
