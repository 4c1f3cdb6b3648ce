/**
 * The stream path of `bun run bench datapath` (QEMU's framing: a 4-byte big-endian length before each
 * frame, as `-netdev stream`, `-netdev socket,fd=` and socket_vmnet speak), in the same namespaces and
 * run as the datagram paths (scripts/bench-datapath.ts sets them up):
 *
 *   traffic --connect ── unix stream socket ── [vmlan switch | C stream forwarder] ── TAP ── bridge ── sk0 ══ sink
 *
 * Rows: the C reference (bench/c/stream-forwarder.c, the same loops in C); `vmlan switch` with one
 * client (vs the C reference); the switch with one busy client while 3 more are connected and idle
 * ("1 of 4", vs alone: what socket_vmnet #58 measured, 3.52 → 0.81 Gbit/s as idle VMs were added); and
 * all 4 busy at once (per-client median and the sum, vs alone; on 2 cores they share the CPU).
 * Sinks and idle clients send one frame first so the bridge learns their MACs, as a VM's first ARP or
 * DHCP does; the bench waits until the bridge has learned them.
 */
import { join } from "node:path";
import { vmlanBin } from "../test/support/binary.ts";
import { countAtVeth, firstLine, lineReader, median, onPath, onTraffic, parseTraffic, row, sh, type Row, type Sample } from "./bench-dp-common.ts";

export interface StreamBench { runs: number; count: number; sink: string; sinkMac: string; traffic: string; cForwarder: string; dir: string }

const SIZES = [64, 1500];
const MACS = ["02:00:00:be:5c:01", "02:00:00:be:5c:02", "02:00:00:be:5c:03", "02:00:00:be:5c:04"];
const C_REF = "C stream forwarder";
const SWITCH = "vmlan switch";
type Proc = ReturnType<typeof Bun.spawn>;

async function startPath(name: string, b: StreamBench): Promise<{ socket: string; stop(): Promise<void> }> {
  const socket = join(b.dir, `${name === SWITCH ? "switch" : "cref"}.sock`);
  const argv = name === SWITCH ? [vmlanBin(), "switch", "--socket", socket, "--network", "bench"] : [b.cForwarder, "--socket", socket, "--tap", "vbsfwd"];
  const p = Bun.spawn(onPath(argv), { stdio: ["ignore", "pipe", Bun.file(join(b.dir, `${name === SWITCH ? "switch" : "cref"}.log`))] });
  await firstLine(p);
  return { socket, async stop() { p.kill("SIGTERM"); await p.exited; } };
}

/**
 * Waits until the bridge has learned every MAC in `macs` on a port of the path under test (the
 * switch's TAPs vlt*, or the C reference's vbsfwd), at most 5 s. An entry left on the other path's
 * port from an earlier run would send the traffic there.
 */
async function learned(macs: string[], onPath: (ifname: string) => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    const fdb = JSON.parse(sh(["bridge", "-j", "fdb", "show", "br", "vl-bench"])) as { mac: string; ifname: string }[];
    if (macs.every((m) => fdb.some((e) => e.mac === m && onPath(e.ifname)))) return;
    await Bun.sleep(20);
  }
  throw new Error(`the bridge never learned ${macs.join(", ")} on the path's ports`);
}
const portsOf = (socket: string) => (socket.endsWith("switch.sock") ? (n: string) => n.startsWith("vlt") : (n: string) => n === "vbsfwd");

const traffic = (b: StreamBench, args: string[]) => Bun.spawn(onTraffic([b.traffic, ...args]), { stdio: ["ignore", "pipe", "inherit"] });

/** vm→host from `macs.length` clients at once: the sum at the sink veth, and each client's own rate. */
async function up(b: StreamBench, socket: string, size: number, macs: string[]): Promise<{ sum: Sample; each: Sample[] }> {
  const gens = macs.map((m) => traffic(b, ["gen", "--connect", socket, "--count", String(b.count), "--size", String(size), "--dst", b.sinkMac, "--src", m]));
  const readers = gens.map(lineReader);
  await Promise.all(readers.map((r) => r())); // "ready"
  const sum = await countAtVeth(gens, b.count * macs.length);
  const each = await Promise.all(readers.map(async (r) => parseTraffic(await r(), b.count)));
  return { sum, each };
}

/** host→vm to `macs.length` connected sinks at once: a packet socket in the sink namespace sends round-robin. */
async function down(b: StreamBench, socket: string, size: number, macs: string[]): Promise<{ sum: Sample; each: Sample[] }> {
  const sinks = macs.map((m) => traffic(b, ["sink", "--connect", socket, "--src", m]));
  const readers = sinks.map(lineReader);
  await Promise.all(readers.map((r) => r()));
  await learned(macs, portsOf(socket));
  const total = b.count * macs.length;
  await Bun.spawn(onTraffic(["ip", "netns", "exec", b.sink, b.traffic, "gen", "--packet", "eth0", "--count", String(total), "--size", String(size), "--dst", macs.join(","), "--src", b.sinkMac]),
    { stdio: ["ignore", "ignore", "inherit"] }).exited;
  const each = await Promise.all(readers.map(async (r) => parseTraffic(await r(), b.count)));
  for (const s of sinks) s.kill("SIGTERM");
  return { sum: { fps: each.reduce((n, s) => n + s.fps, 0), loss: median(each.map((s) => s.loss)) }, each };
}

/** Three connected clients that announce their MACs and then only read, for "1 of 4". */
async function idleClients(b: StreamBench, socket: string): Promise<Proc[]> {
  const idle = MACS.slice(1).map((m) => traffic(b, ["idle", "--connect", socket, "--src", m]));
  await Promise.all(idle.map((p) => firstLine(p)));
  await learned(MACS.slice(1), portsOf(socket));
  return idle;
}

export async function streamRows(b: StreamBench): Promise<Row[]> {
  const rows: Row[] = [];
  for (const size of SIZES) {
    for (const name of [C_REF, SWITCH]) {
      const path = await startPath(name, b);
      const r = { up: [] as Sample[], down: [] as Sample[], up1of4: [] as Sample[], down1of4: [] as Sample[], up4: [] as Sample[], down4: [] as Sample[], up4sum: [] as Sample[], down4sum: [] as Sample[] };
      for (let run = 0; run < b.runs; run++) {
        r.up.push((await up(b, path.socket, size, MACS.slice(0, 1))).sum);
        r.down.push((await down(b, path.socket, size, MACS.slice(0, 1))).sum);
        if (name !== SWITCH) continue;
        const idle = await idleClients(b, path.socket);
        r.up1of4.push((await up(b, path.socket, size, MACS.slice(0, 1))).sum);
        r.down1of4.push((await down(b, path.socket, size, MACS.slice(0, 1))).sum);
        for (const p of idle) p.kill("SIGTERM");
        await Promise.all(idle.map((p) => p.exited));
        const u4 = await up(b, path.socket, size, MACS);
        const d4 = await down(b, path.socket, size, MACS);
        r.up4.push({ fps: median(u4.each.map((s) => s.fps)), loss: median(u4.each.map((s) => s.loss)) });
        r.down4.push({ fps: median(d4.each.map((s) => s.fps)), loss: median(d4.each.map((s) => s.loss)) });
        r.up4sum.push(u4.sum);
        r.down4sum.push(d4.sum);
      }
      await path.stop();
      const ref = name === SWITCH ? { ref: C_REF } : {};
      rows.push(row(name, "vm→host", size, r.up, ref), row(name, "host→vm", size, r.down, ref));
      if (name !== SWITCH) continue;
      const alone = { ref: SWITCH, clients: 4 };
      rows.push(
        row(`${SWITCH}, 1 of 4`, "vm→host", size, r.up1of4, alone), row(`${SWITCH}, 1 of 4`, "host→vm", size, r.down1of4, alone),
        row(`${SWITCH}, 4 at once`, "vm→host", size, r.up4, alone), row(`${SWITCH}, 4 at once`, "host→vm", size, r.down4, alone),
        row(`${SWITCH}, 4 at once, sum`, "vm→host", size, r.up4sum, alone), row(`${SWITCH}, 4 at once, sum`, "host→vm", size, r.down4sum, alone),
      );
    }
  }
  return rows;
}
