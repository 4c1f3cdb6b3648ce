/**
 * `bun run bench scale [--runs N] [--only commands,alloc,start,dhcp,dns,helpers,forward,guard] [--format json]`:
 * how vmlan's costs grow with the work (issue #15 §4), as medians per size and the ratio of the
 * largest size to the smallest (1.0 = flat).
 *   commands  network list, attachments, network inspect, attach, network create + rm, with 1, 100
 *             and 1,000 networks and with 10, 1,000 and 10,000 attachments on one network
 *   alloc     10,000 attaches in one process (the first and last thousand apart)
 *   start     system start (cold, warm), the idle daemon, system stop, with 1, 50 and 200 networks
 *   dhcp      250 DHCP clients arriving at once        dns  5,000 queries/s with 10 to 10,000 names
 *   helpers   memory of 1, 10 and 50 helpers running at once
 *   forward   a guest's TCP throughput through NAT with 1, 50 and 200 networks, vmlan vs the layout before (needs iperf3)
 *   guard     guarding one port (its anti-spoofing rules' commit) with 1, 100 and 1,000 ports already guarded
 * Needs root. commands/alloc/start/helpers/guard run in a namespace `vmlan-bench-<random>` (this file
 * re-run inside it, every vmlan with a temp VMLAN_STATE_DIR); dhcp/dns in the services tests'
 * `vmlan-t-*` namespaces, forward in three of its own. All of them are deleted at the end.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vmlanBin } from "../test/support/binary.ts";
import { loadAverage, ratio, round2, type Figures, type Report, type Summary, type Table } from "./bench-report.ts";
import { ATTACHMENT_SIZES, COMMANDS, commandCosts, inProcessAllocations, NETWORK_SIZES, type CommandRow, type InProcess } from "./scale/commands.ts";
import { START_SIZES, startCosts, type StartRow } from "./scale/system-start.ts";
import { FULL_POOL_PREFIXES, fullPoolAttach, type FullPoolRow } from "./scale/full-pool.ts";
import { STRANGER_SIZES, strangerOffers, type StrangerRow } from "./scale/stranger-offer.ts";
import { HELPER_COUNTS, helperMemory, type HelperRow } from "./scale/helpers.ts";
import { FORWARD_SIZES, forwardCost, forwardFigures, type ForwardRow } from "./scale/forward.ts";
import { GUARD_SIZES, guardCommits, type GuardRow } from "./scale/guard-commit.ts";
import { DHCP_CLIENTS, dhcpLoad, DNS_QPS, DNS_SECONDS, DNS_SIZES, dnsLoad, type DhcpRow, type DnsRow } from "./scale/services.ts";

const PARTS = ["commands", "alloc", "start", "dhcp", "dns", "helpers", "forward", "guard"] as const;
type Part = (typeof PARTS)[number];
type Inner = { commands?: { rows: CommandRow[]; floor: Summary }; alloc?: InProcess; fullPool?: FullPoolRow[]; strangers?: StrangerRow[]; start?: StartRow[]; helpers?: HelperRow[]; guard?: GuardRow[] };

function parts(only: string | undefined): Set<Part> {
  if (!only) return new Set(PARTS);
  const want = only.split(",").map((s) => s.trim());
  const bad = want.find((p) => !(PARTS as readonly string[]).includes(p));
  if (bad) throw new Error(`--only: unknown part "${bad}"; parts: ${PARTS.join(", ")}`);
  return new Set(want as Part[]);
}

/** Inside the namespace: the parts that spawn vmlan there. Answers JSON on stdout. */
async function inside(ns: string, runs: number, want: Set<Part>): Promise<Inner> {
  if (!ns.startsWith("vmlan-bench-") || statSync("/proc/self/ns/net").ino !== statSync(`/run/netns/${ns}`).ino) {
    throw new Error("refusing to run outside a vmlan-bench namespace; use `bun run bench scale`");
  }
  Bun.spawnSync(["ip", "link", "set", "lo", "up"]);
  const root = process.env.VMLAN_BENCH_ROOT!;
  const out: Inner = {};
  if (want.has("commands")) out.commands = await commandCosts(root, runs);
  if (want.has("alloc")) out.alloc = await inProcessAllocations(root, runs);
  if (want.has("alloc")) out.fullPool = await fullPoolAttach(root);
  if (want.has("alloc")) out.strangers = await strangerOffers(root);
  if (want.has("start")) out.start = await startCosts(root, runs);
  if (want.has("helpers")) out.helpers = await helperMemory(root);
  if (want.has("guard")) out.guard = guardCommits();
  return out;
}

async function runInside(runs: number, want: Set<Part>): Promise<Inner> {
  const ns = `vmlan-bench-${crypto.randomUUID().slice(0, 8)}`;
  const root = mkdtempSync(join(tmpdir(), "vmlan-bench-scale-"));
  const ip = (...a: string[]) => Bun.spawnSync(["ip", ...a], { stdio: ["ignore", "inherit", "inherit"] }).exitCode;
  try {
    if (ip("netns", "add", ns) !== 0) throw new Error(`ip netns add ${ns} failed`);
    const child = Bun.spawn(["ip", "netns", "exec", ns, process.execPath, import.meta.path, "--inside", ns, "--runs", String(runs), "--only", [...want].join(",")], {
      env: { ...process.env, VMLAN_BENCH_ROOT: root }, stdin: "ignore", stdout: "pipe", stderr: "inherit",
    });
    const [code, text] = await Promise.all([child.exited, new Response(child.stdout).text()]);
    if (code !== 0) throw new Error(`bench inside ${ns} exited ${code}`);
    return JSON.parse(text) as Inner;
  } finally {
    // Daemons started by `system start` in there are stopped by each run's `system stop`; the namespace takes what is left.
    ip("netns", "del", ns);
    rmSync(root, { recursive: true, force: true });
  }
}

const bySize = (xs: Array<[number, number | null]>) => Object.fromEntries(xs.map(([s, v]) => [String(s), v]));

function commandTables(c: NonNullable<Inner["commands"]>, medians: Figures, ratios: Figures): Table[] {
  return (["networks", "attachments"] as const).map((axis) => {
    const sizes = axis === "networks" ? NETWORK_SIZES : ATTACHMENT_SIZES;
    const cell = (cmd: string, s: number) => c.rows.find((r) => r.axis === axis && r.size === s && r.command === cmd)?.median ?? null;
    const rows = COMMANDS.map((cmd) => {
      const xs = sizes.map((s) => cell(cmd, s));
      medians[`${cmd} ms by ${axis}`] = bySize(sizes.map((s, i) => [s, xs[i]!]));
      const growth = ratio(xs[xs.length - 1], xs[0]);
      ratios[`${cmd}, ${sizes[sizes.length - 1]} vs ${sizes[0]} ${axis}`] = growth;
      return [cmd, ...xs, growth];
    });
    return {
      title: axis === "networks" ? "CLI commands by number of networks (one attachment each), median ms" : "CLI commands by attachments on one network, median ms",
      head: ["command", ...sizes.map(String), `${sizes[sizes.length - 1]}/${sizes[0]}`],
      rows: [...rows, ["vmlan version (floor)", ...sizes.map(() => c.floor.median), null]],
    };
  });
}

function build(inner: Inner, dhcp: DhcpRow | null, dns: DnsRow[] | null, forward: ForwardRow[] | null, runs: number, load: number, want: Set<Part>): Report {
  const medians: Figures = {}, ratios: Figures = {}, tables: Table[] = [];
  if (inner.commands) {
    tables.push(...commandTables(inner.commands, medians, ratios));
    medians["vmlan version ms"] = inner.commands.floor.median;
  }
  if (inner.alloc) {
    const a = inner.alloc;
    medians[`${a.count} allocations in one process ms`] = { "one transaction each": a.total.median, "one transaction (attachMany)": a.batch.median, "bare SQLite floor": a.sqliteFloor.median };
    medians["allocations ms per 1000"] = { first: a.first1000.median, last: a.last1000.median };
    ratios["allocations, last 1000 vs first 1000"] = ratio(a.last1000.median, a.first1000.median);
    ratios["allocations one transaction each / bare SQLite one row per transaction"] = ratio(a.total.median, a.sqliteFloor.median);
    tables.push({ title: `${a.count} attaches in one process (file store, no host), ${a.runs} runs`, head: ["", "median ms", "p10", "p90"],
      rows: [a.total, a.first1000, a.last1000, a.batch, a.sqliteFloor].map((s) => [s.name, s.median, s.p10, s.p90]),
      note: "bare SQLite: the same number of one-row transactions with the store's pragmas on the same disk (the floor of one transaction each)" });
  }
  if (inner.fullPool?.length) {
    const f = inner.fullPool;
    medians["attach into a full pool ms by pool size"] = bySize(f.map((r) => [r.pool, r.attachMs]));
    ratios[`attach into a full pool, ${f[f.length - 1]!.pool} vs ${f[0]!.pool} addresses`] = ratio(f[f.length - 1]!.attachMs, f[0]!.attachMs);
    tables.push({ title: "attach of a new id into a pool of released claims only (it takes the oldest)", head: ["pool addresses", "attach ms (median of 7)"], rows: f.map((r) => [r.pool, r.attachMs]) });
  }
  if (inner.strangers?.length) {
    const g = inner.strangers;
    medians["DHCP offer to an unknown MAC ms by attachments"] = bySize(g.map((r) => [r.attachments, r.offerMs]));
    medians["DHCP offer to an unknown MAC ms by offers already held"] = bySize(g.map((r) => [r.attachments, r.heldOfferMs]));
    ratios[`DHCP offer to an unknown MAC, ${g[g.length - 1]!.attachments} vs ${g[0]!.attachments} attachments`] = ratio(g[g.length - 1]!.offerMs, g[0]!.offerMs);
    tables.push({ title: "DHCP offer to an unknown MAC (in process, one connection: the daemon's), on a /16", head: ["n", "offer ms, n attachments", "offer ms, n offers held"], rows: g.map((r) => [r.attachments, r.offerMs, r.heldOfferMs]) });
  }
  if (inner.start) {
    const s = inner.start;
    for (const k of ["cold", "warm", "stop"] as const) medians[`system ${k === "stop" ? "stop" : `start ${k}`} ms by networks`] = bySize(s.map((r) => [r.networks, r[k].median]));
    medians["idle daemon CPU % by networks"] = bySize(s.map((r) => [r.networks, r.idleCpuPct]));
    medians["idle daemon RSS MiB by networks"] = bySize(s.map((r) => [r.networks, r.daemonRssMiB]));
    const [lo, hi] = [s[0]!, s[s.length - 1]!];
    ratios[`system start cold, ${hi.networks} vs ${lo.networks} networks`] = ratio(hi.cold.median, lo.cold.median);
    ratios[`daemon RSS, ${hi.networks} vs ${lo.networks} networks`] = ratio(hi.daemonRssMiB, lo.daemonRssMiB);
    medians["ip -batch bridges add ms by networks"] = bySize(s.map((r) => [r.networks, round2(r.ipAdd)]));
    medians["ip -batch bridges del ms by networks"] = bySize(s.map((r) => [r.networks, round2(r.ipDel)]));
    for (const r of s) ratios[`system stop / ip link del, ${r.networks} networks`] = ratio(r.stop.median, r.ipDel);
    tables.push({ title: "system start with N stored shared dual-stack networks (no bridge, table or daemon before the cold start)",
      head: ["networks", "cold ms", "warm ms", "stop ms", "cold ms/network", "idle daemon CPU %", "daemon RSS MiB", "threads", "ip add ms", "ip del ms"],
      rows: s.map((r) => [r.networks, r.cold.median, r.warm.median, r.stop.median, r.cold.median / r.networks, r.idleCpuPct, r.daemonRssMiB, r.daemonThreads, r.ipAdd, r.ipDel]),
      note: "ip add/del: as many bridges made (up, one address) and deleted by hand with one `ip -batch` each, in the same namespace: the kernel's own cost" });
  }
  if (dhcp) {
    Object.assign(medians, { "DHCP all bound ms": dhcp.allBoundMs, "DHCP p50 ms": dhcp.p50Ms, "DHCP p99 ms": dhcp.p99Ms, "DHCP daemon CPU %": dhcp.cpuPct, "DHCP daemon peak RSS MiB": dhcp.peakRssMiB });
    tables.push({ title: `${dhcp.clients} DHCP clients arriving at once (whole exchange each; median of runs)`,
      head: ["clients", "bound", "all bound ms", "p50 ms", "p99 ms", "retransmits", "daemon CPU %", "peak RSS MiB"],
      rows: [[dhcp.clients, dhcp.bound, dhcp.allBoundMs, dhcp.p50Ms, dhcp.p99Ms, dhcp.retransmits, dhcp.cpuPct, dhcp.peakRssMiB]] });
  }
  if (dns?.length) {
    medians["DNS answers/s by attachments"] = bySize(dns.map((r) => [r.attachments, r.answersPerSecond]));
    medians["DNS p99 ms by attachments"] = bySize(dns.map((r) => [r.attachments, r.p99Ms]));
    medians["DNS daemon peak RSS MiB by attachments"] = bySize(dns.map((r) => [r.attachments, r.peakRssMiB]));
    const [lo, hi] = [dns[0]!, dns[dns.length - 1]!];
    ratios[`DNS p99, ${hi.attachments} vs ${lo.attachments} attachments`] = ratio(hi.p99Ms, lo.p99Ms);
    ratios[`DNS answers/s, ${hi.attachments} vs ${lo.attachments} attachments`] = ratio(hi.answersPerSecond, lo.answersPerSecond);
    tables.push({ title: `DNS at ${lo.qps} queries/s for ${DNS_SECONDS} s (A queries for guests' names)`,
      head: ["attachments", "sent", "answers/s", "unanswered %", "wrong", "p50 ms", "p99 ms", "daemon CPU %", "peak RSS MiB"],
      rows: dns.map((r) => [r.attachments, r.sent, r.answersPerSecond, r.unansweredPct, r.wrong, r.p50Ms, r.p99Ms, r.cpuPct, r.peakRssMiB]) });
  }
  if (inner.helpers?.length) {
    const h = inner.helpers;
    medians["helpers PSS MiB by count"] = bySize(h.map((r) => [r.helpers, r.pssMiB]));
    medians["helpers RSS MiB by count"] = bySize(h.map((r) => [r.helpers, r.rssMiB]));
    const [lo, hi] = [h[0]!, h[h.length - 1]!];
    ratios[`PSS per helper, ${hi.helpers} vs ${lo.helpers} helpers`] = ratio(hi.perHelperPssMiB, lo.perHelperPssMiB);
    tables.push({ title: "helpers running at once (idle, once ready)", head: ["helpers", "all ready ms", "RSS MiB", "PSS MiB", "RSS/helper", "PSS/helper"],
      rows: h.map((r) => [r.helpers, r.readyMs, r.rssMiB, r.pssMiB, r.perHelperRssMiB, r.perHelperPssMiB]),
      note: "RSS counts the binary's shared pages in every helper; PSS splits them: PSS summed is what the helpers cost" });
  }
  if (inner.guard?.length) {
    const g = inner.guard;
    const [lo, hi] = [g[0]!, g[GUARD_SIZES.length - 1]!];
    medians["guardPort ms by ports already guarded"] = bySize(g.slice(0, GUARD_SIZES.length).map((r) => [r.ports, r.guardMs]));
    medians["guarding a port in the layout before, ms by ports already guarded"] = bySize(g.slice(0, GUARD_SIZES.length).map((r) => [r.ports, r.beforeMs]));
    ratios[`guardPort, ${hi.ports} vs ${lo.ports} ports`] = ratio(hi.guardMs, lo.guardMs);
    ratios[`guarding a port in the layout before, ${hi.ports} vs ${lo.ports} ports`] = ratio(hi.beforeMs, lo.beforeMs);
    ratios[`guardPort / the layout before, ${hi.ports} ports`] = ratio(hi.guardMs, hi.beforeMs);
    tables.push({ title: "guarding one port (its rules' nft transaction), median ms", head: ["ports guarded", "interfaces", "vmlan ms", "before ms", "vmlan/before"],
      rows: g.map((r) => [r.ports, r.links, r.guardMs, r.beforeMs, ratio(r.guardMs, r.beforeMs)]),
      note: "vmlan: guardPort (one table; no set of a port but a learning one's); before: a table per network, an anonymous set per rule;\nthe last row: 600 more interfaces (libnftables reads every link on a transaction that names an interface index)" });
  }
  if (forward?.length) {
    const f = forwardFigures(forward);
    Object.assign(medians, f.medians);
    Object.assign(ratios, f.ratios);
    tables.push(f.table);
  }
  return {
    bench: "scale", medians, ratios, tables,
    inputs: {
      runs, loadavg: load, binary: vmlanBin(), parts: [...want],
      ...(want.has("commands") ? { networks: NETWORK_SIZES, attachments: ATTACHMENT_SIZES } : {}),
      ...(want.has("alloc") ? { fullPoolPrefixes: FULL_POOL_PREFIXES, strangerAttachments: STRANGER_SIZES } : {}),
      ...(want.has("start") ? { startNetworks: START_SIZES } : {}),
      ...(want.has("dhcp") ? { dhcpClients: DHCP_CLIENTS } : {}),
      ...(want.has("dns") ? { dnsQps: DNS_QPS, dnsSeconds: DNS_SECONDS, dnsAttachments: DNS_SIZES } : {}),
      ...(want.has("guard") ? { guardPorts: GUARD_SIZES } : {}),
      ...(want.has("helpers") ? { helpers: HELPER_COUNTS } : {}),
      ...(want.has("forward") ? { forwardNetworks: FORWARD_SIZES } : {}),
    },
    detail: { commands: inner.commands?.rows, start: inner.start, dhcp, dns, helpers: inner.helpers },
  };
}

export async function scale(o: { runs: number; only?: string }): Promise<Report> {
  if (process.getuid?.() !== 0) throw new Error("bench scale needs root: it creates network namespaces");
  vmlanBin();
  const want = parts(o.only);
  const runs = Math.min(o.runs, 7);
  const load = await loadAverage();
  const innerParts = new Set([...want].filter((p) => p !== "dhcp" && p !== "dns" && p !== "forward"));
  const inner = innerParts.size ? await runInside(runs, innerParts) : {};
  const dhcp = want.has("dhcp") ? await dhcpLoad(runs) : null;
  const dns = want.has("dns") ? await dnsLoad() : null;
  const forward = want.has("forward") ? await forwardCost(runs) : null;
  return build(inner, dhcp, dns, forward, runs, load, want);
}

if (import.meta.main) {
  const a = process.argv.slice(2);
  const get = (k: string) => { const i = a.indexOf(k); return i < 0 ? undefined : a[i + 1]; };
  console.log(JSON.stringify(await inside(get("--inside") ?? "", Number(get("--runs") ?? 5), parts(get("--only")))));
}
