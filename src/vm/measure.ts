/**
 * Measurements through a guest's console (src/vm/console.ts): ping round trips and TCP throughput
 * with busybox nc. Used by `vmlan demo` and `bun run bench guests`.
 */
import type { GuestConsole } from "./console.ts";
import { idle } from "./launch.ts";

/** Runs a command in the guest and throws with its output when it fails. */
export async function mustRun(g: GuestConsole, cmd: string, timeoutMs = 60_000): Promise<string[]> {
  const r = await g.run(cmd, timeoutMs);
  if (r.code !== 0) throw new Error(`in the guest: \`${cmd}\` exited ${r.code}: ${r.output.join(" | ")}`);
  return r.output;
}

/** busybox ping's summary: "round-trip min/avg/max = 0.512/0.734/1.021 ms". */
export async function pingAvg(g: GuestConsole, to: string, count = 5): Promise<number> {
  const out = await mustRun(g, `ping -c ${count} -i 0.2 -W 2 ${to}`);
  const m = out.join("\n").match(/min\/avg\/max = [\d.]+\/([\d.]+)\//);
  if (!m) throw new Error(`no ping summary: ${out.join(" | ")}`);
  return Number(m[1]);
}

/** A receiver in the guest that discards what it gets. busybox nc -l quits when its stdin ends, hence the sleep. */
export async function listenInGuest(g: GuestConsole, port: number): Promise<void> {
  await mustRun(g, `sleep 3600 | nc -l -p ${port} > /dev/null &`);
  await Bun.sleep(300);
}

const mbps = (bytes: number, seconds: number) => Math.round(((bytes * 8) / 1e6 / Math.max(seconds, 0.001)) * 10) / 10;

/** N MiB from the guest to addr:port with busybox nc, timed in the guest with /proc/uptime (10 ms steps). */
export async function sendFromGuest(g: GuestConsole, addr: string, port: number, mb: number): Promise<number> {
  const out = await mustRun(g, `t0=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero bs=65536 count=${mb * 16} 2>/dev/null | nc ${addr} ${port}; t1=$(cut -d' ' -f1 /proc/uptime); echo "XFER $t0 $t1"`, 600_000);
  const m = out.join("\n").match(/XFER ([\d.]+) ([\d.]+)/);
  if (!m) throw new Error(`no transfer timing: ${out.join(" | ")}`);
  return mbps(mb * 1048576, Number(m[2]) - Number(m[1]));
}

/**
 * N MiB from the guest to a listener of this process, timed here from the first byte to EOF.
 * `listen` is where this process listens; `connect` is what the guest dials (they differ under NAT).
 */
export async function sendToHost(g: GuestConsole, at: { listen: string; connect: string; connectPort?: number }, port: number, mb: number): Promise<number> {
  let first = 0;
  let bytes = 0;
  let done: (t: number) => void = () => {};
  const finished = new Promise<number>((r) => (done = r));
  const server = Bun.listen({
    hostname: at.listen, port,
    socket: {
      data(_s, chunk) {
        if (!first) first = performance.now();
        bytes += chunk.length;
      },
      close() {
        done(performance.now());
      },
    },
  });
  try {
    await mustRun(g, `dd if=/dev/zero bs=65536 count=${mb * 16} 2>/dev/null | nc ${at.connect} ${at.connectPort ?? port}`, 600_000);
    const end = await Promise.race([finished, idle(10_000).then(() => performance.now())]);
    if (bytes === 0) throw new Error("this process received nothing from the guest");
    return mbps(bytes, (end - first) / 1000);
  } finally {
    server.stop(true);
  }
}
