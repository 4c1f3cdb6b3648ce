/**
 * `bun run bench bridged`: what making and removing a bridged network costs the host, against the
 * same move done by hand with iproute2 in the same run (the reference: a bridge with the uplink's
 * MAC, the uplink enslaved, its address, default route and a static route moved, and back):
 *   time      wall time of `vmlan network create --mode bridged` / `network rm`, and of the ip commands
 *   outage    how long the host cannot reach the LAN's router meanwhile: pings every 5 ms, lost × 5 ms
 * Needs root. Everything lives in two namespaces it creates, `vmlan-bench-<random>` (the host, with
 * the veth "uplink" up0) and its `-lan` peer (the router, 10.99.0.1), removed at the end.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vmlanBin } from "../test/support/binary.ts";
import { loadAverage, ratio, summarize, type Report } from "./bench-report.ts";

type Options = { runs: number; json: boolean };
const PING_MS = 5;
const ROUTER = "10.99.0.1";

function sh(ns: string, ...argv: string[]): void {
  const r = Bun.spawnSync(["ip", "netns", "exec", ns, ...argv], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`[${ns}] ${argv.join(" ")}: ${r.stderr.toString().trim()}`);
}

/** Runs `op` while pinging the router every PING_MS; returns its wall time and the pings lost. */
async function measured(host: string, op: () => void | Promise<void>): Promise<{ ms: number; lost: number }> {
  const ping = Bun.spawn(["ip", "netns", "exec", host, "ping", "-n", "-q", "-i", String(PING_MS / 1000), "-W", "1", ROUTER], { stdout: "pipe", stderr: "ignore" });
  let ms: number;
  try {
    await Bun.sleep(150); // the pings are flowing before the change
    const t0 = performance.now();
    await op();
    ms = performance.now() - t0;
    await Bun.sleep(300); // the last lost ones time out as lost, not as in flight
  } finally {
    ping.kill("SIGINT");
  }
  const out = await new Response(ping.stdout).text();
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (!m) throw new Error(`ping printed no summary: ${out}`);
  return { ms, lost: Number(m[1]) - Number(m[2]) };
}

function byHand(host: string, mac: string): { create: () => void; rm: () => void } {
  const ip = (...a: string[]) => sh(host, "ip", ...a);
  return {
    create: () => {
      ip("link", "add", "br-ref", "type", "bridge");
      ip("link", "set", "br-ref", "address", mac);
      ip("link", "set", "br-ref", "up");
      ip("link", "set", "up0", "master", "br-ref");
      ip("route", "del", "default", "via", ROUTER, "dev", "up0");
      ip("route", "del", "10.98.0.0/24", "via", ROUTER, "dev", "up0");
      ip("addr", "del", "10.99.0.2/24", "dev", "up0");
      ip("addr", "add", "10.99.0.2/24", "dev", "br-ref");
      ip("route", "add", "default", "via", ROUTER, "dev", "br-ref");
      ip("route", "add", "10.98.0.0/24", "via", ROUTER, "dev", "br-ref");
    },
    rm: () => {
      ip("link", "set", "up0", "nomaster");
      ip("link", "del", "br-ref"); // its address and routes go with it
      ip("addr", "add", "10.99.0.2/24", "dev", "up0");
      ip("route", "add", "default", "via", ROUTER, "dev", "up0");
      ip("route", "add", "10.98.0.0/24", "via", ROUTER, "dev", "up0");
    },
  };
}

export async function bridged(o: Options): Promise<Report> {
  if (process.getuid?.() !== 0) throw new Error("bench bridged needs root: it creates network namespaces");
  const bin = vmlanBin();
  const host = `vmlan-bench-${crypto.randomUUID().slice(0, 8)}`;
  const lan = `${host}-lan`;
  const state = mkdtempSync(join(tmpdir(), "vmlan-bench-bridged-"));
  const runs = Math.min(o.runs, 10); // about 2 s per run; 10 keep it under half a minute
  const samples = new Map<string, number[]>(["vmlan create", "vmlan rm", "ip create", "ip rm"].flatMap((k) => [[`${k} time`, []], [`${k} outage`, []]]));
  const record = (k: string, r: { ms: number; lost: number }) => {
    samples.get(`${k} time`)!.push(r.ms);
    samples.get(`${k} outage`)!.push(r.lost * PING_MS);
  };
  const vmlan = (...args: string[]) => {
    const r = Bun.spawnSync(["ip", "netns", "exec", host, bin, ...args], { env: { ...process.env, VMLAN_STATE_DIR: state }, stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`vmlan ${args.join(" ")}: ${r.stderr.toString().trim()}`);
  };
  try {
    for (const ns of [host, lan]) Bun.spawnSync(["ip", "netns", "add", ns]);
    for (const ns of [host, lan]) sh(ns, "ip", "link", "set", "lo", "up");
    sh(host, "ip", "link", "add", "up0", "type", "veth", "peer", "name", "lan0", "netns", lan);
    sh(lan, "ip", "addr", "add", `${ROUTER}/24`, "dev", "lan0");
    sh(lan, "ip", "link", "set", "lan0", "up");
    sh(host, "ip", "addr", "add", "10.99.0.2/24", "dev", "up0");
    sh(host, "ip", "link", "set", "up0", "up");
    sh(host, "ip", "route", "add", "default", "via", ROUTER, "dev", "up0");
    sh(host, "ip", "route", "add", "10.98.0.0/24", "via", ROUTER, "dev", "up0");
    const mac = (JSON.parse(Bun.spawnSync(["ip", "netns", "exec", host, "ip", "-j", "link", "show", "up0"]).stdout.toString()) as { address: string }[])[0]!.address;
    const ref = byHand(host, mac);
    vmlan("network", "create", "warm", "--mode", "bridged", "--uplink", "up0"); // untimed: page cache, store
    vmlan("network", "rm", "warm");
    for (let i = 0; i < runs; i++) {
      // Alternate which goes first, so neither always runs on a warmer machine.
      const pair = [
        async () => {
          record("vmlan create", await measured(host, () => vmlan("network", "create", "lan", "--mode", "bridged", "--uplink", "up0")));
          record("vmlan rm", await measured(host, () => vmlan("network", "rm", "lan")));
        },
        async () => {
          record("ip create", await measured(host, ref.create));
          record("ip rm", await measured(host, ref.rm));
        },
      ];
      for (const step of i % 2 ? pair.reverse() : pair) await step();
    }
  } finally {
    for (const ns of [host, lan]) Bun.spawnSync(["ip", "netns", "del", ns], { stderr: "ignore" });
    rmSync(state, { recursive: true, force: true });
  }
  const results = [...samples].map(([name, xs]) => summarize(name, xs));
  const med = (n: string) => results.find((r) => r.name === n)?.median;
  return {
    bench: "bridged", inputs: { runs, pingIntervalMs: PING_MS, loadavg: await loadAverage(), binary: bin },
    medians: Object.fromEntries(results.map((r) => [`${r.name} ms`, r.median])),
    ratios: { "create time vmlan / ip": ratio(med("vmlan create time"), med("ip create time")), "rm time vmlan / ip": ratio(med("vmlan rm time"), med("ip rm time")) },
    tables: [{
      head: ["benchmark", "median", "p10", "p90", "runs"], rows: results.map((r) => [r.name, r.median, r.p10, r.p90, r.runs]),
      note: `ms; outage = pings lost every ${PING_MS} ms x ${PING_MS}; vmlan's time includes starting the binary`,
    }],
    detail: results,
  };
}
