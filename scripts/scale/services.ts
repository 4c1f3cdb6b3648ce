/**
 * `bench scale`, part 4: the services daemon under load, in namespaces of the bench's own (the
 * services tests' Host: a vmlan host namespace running `system start`, a guest namespace cabled to
 * the network's bridge with a veth). DHCP: COUNT clients arriving at once (dhcp-clients.ts), fresh
 * MACs each run. DNS: QPS queries/s of guests' names (dns-load.ts) with 10, 1,000 and 10,000
 * attachments on the network. Reported: answers/s, p50/p99 latency, the daemon's CPU and RSS.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BUN } from "../../test/support/netns.ts";
import { Host } from "../../test/integration/services/support.ts";
import { median, round2 } from "../bench-report.ts";
import { addAttachments } from "./populate.ts";

export const DHCP_CLIENTS = 250;
export const DNS_QPS = 5000;
export const DNS_SECONDS = 10;
export const DNS_SIZES = [10, 1000, 10_000];

export type DhcpRow = { clients: number; bound: number; allBoundMs: number | null; p50Ms: number | null; p99Ms: number | null; retransmits: number; cpuPct: number; peakRssMiB: number };
export type DnsRow = { attachments: number; qps: number; sent: number; answersPerSecond: number; unansweredPct: number; wrong: number; p50Ms: number | null; p99Ms: number | null; cpuPct: number; peakRssMiB: number };

const SCRIPTS = import.meta.dir;

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Runs a load script in the guest while sampling the daemon; returns its JSON line, the daemon's CPU % and peak RSS. */
async function underLoad<T>(host: Host, guest: ReturnType<Host["cable"]>, argv: string[]): Promise<{ out: T; cpuPct: number; peakRssMiB: number }> {
  const pid = host.daemonPid()!;
  let peak = host.daemonUsage().rssKiB;
  const sampler = setInterval(() => { peak = Math.max(peak, host.daemonUsage().rssKiB); }, 100);
  const c0 = cpuSeconds(pid), t0 = performance.now();
  const p = guest.spawn([BUN, ...argv]);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const cpuPct = ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
  clearInterval(sampler);
  if (code !== 0) throw new Error(`${argv[0]} failed: ${err}`);
  return { out: JSON.parse(out) as T, cpuPct: round2(cpuPct), peakRssMiB: round2(peak / 1024) };
}

type DhcpOut = { clients: number; bound: number; allBoundMs: number | null; p50: number | null; p99: number | null; retransmits: number };

export async function dhcpLoad(runs: number, clients = DHCP_CLIENTS): Promise<DhcpRow> {
  const host = new Host();
  try {
    await host.ok("system", "start");
    // A /22: three runs of 250 strangers stay clear of the reserve kept for known clients (1/16).
    await host.ok("network", "create", "dhcp", "--subnet", "10.97.0.0/22", "--mode", "host");
    await host.waitLog(/dhcp\[dhcp\]: listening/);
    await host.ok("attach", "dhcp", "--id", "clients", "--ip", "10.97.3.254");
    const guest = host.cable("vl-dhcp", "c1", "02:97:00:00:00:fe");
    guest.sh(["ip", "addr", "add", "10.97.3.254/22", "dev", "eth0"]);
    const rows: Array<DhcpOut & { cpuPct: number; peakRssMiB: number }> = [];
    for (let r = 0; r < Math.min(runs, 3); r++) {
      console.error(`bench: scale: ${clients} DHCP clients at once (run ${r + 1})`);
      const { out, cpuPct, peakRssMiB } = await underLoad<DhcpOut>(host, guest, [join(SCRIPTS, "dhcp-clients.ts"), "10.97.0.1", String(clients), String(r + 1)]);
      rows.push({ ...out, cpuPct, peakRssMiB });
    }
    const med = (f: (x: (typeof rows)[number]) => number | null) => {
      const xs = rows.map(f).filter((x): x is number => x !== null);
      return xs.length === rows.length ? round2(median(xs)) : null; // a run that did not bind everyone has no "all bound"
    };
    return {
      clients, bound: Math.min(...rows.map((x) => x.bound)), allBoundMs: med((x) => x.allBoundMs), p50Ms: med((x) => x.p50), p99Ms: med((x) => x.p99),
      retransmits: Math.max(...rows.map((x) => x.retransmits)), cpuPct: med((x) => x.cpuPct)!, peakRssMiB: Math.max(...rows.map((x) => x.peakRssMiB)),
    };
  } finally {
    await host.close();
  }
}

type DnsOut = { sent: number; answered: number; noerror: number; withAddress: number; answersPerSecond: number; p50: number | null; p99: number | null };

export async function dnsLoad(qps = DNS_QPS, seconds = DNS_SECONDS, sizes = DNS_SIZES): Promise<DnsRow[]> {
  const host = new Host();
  try {
    await host.ok("system", "start");
    await host.ok("network", "create", "dns", "--subnet", "10.98.0.0/18", "--mode", "host");
    await host.waitLog(/dns\[dns\]: listening/);
    await host.ok("attach", "dns", "--id", "load", "--ip", "10.98.63.254");
    const guest = host.cable("vl-dns", "d1", "02:98:00:00:00:fe");
    guest.sh(["ip", "addr", "add", "10.98.63.254/18", "dev", "eth0"]);
    const rows: DnsRow[] = [];
    let have = 0;
    for (const size of sizes) {
      addAttachments(host.stateDir, "dns", size - have, have);
      have = size;
      console.error(`bench: scale: DNS at ${qps}/s for ${seconds} s, ${size} attachments`);
      const { out, cpuPct, peakRssMiB } = await underLoad<DnsOut>(host, guest, [join(SCRIPTS, "dns-load.ts"), "10.98.0.1", String(qps), String(seconds), String(size)]);
      rows.push({
        attachments: size, qps, sent: out.sent, answersPerSecond: round2(out.answersPerSecond), unansweredPct: round2((100 * (out.sent - out.answered)) / out.sent),
        wrong: out.answered - Math.min(out.noerror, out.withAddress), p50Ms: out.p50 === null ? null : round2(out.p50), p99Ms: out.p99 === null ? null : round2(out.p99), cpuPct, peakRssMiB,
      });
    }
    return rows;
  } finally {
    await host.close();
  }
}
