/**
 * Shared by the services integration tests: a vmlan "host" namespace running the compiled binary
 * (system start → the services daemon), guest namespaces cabled to a bridge with a veth pair, and a
 * real DHCP client (busybox udhcpc). Nothing runs in the root namespace.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { BUN, createNetns, linkUpstream, type Netns } from "../../support/netns.ts";

export class Host {
  readonly ns: Netns;
  readonly stateDir = mkdtempSync(join(tmpdir(), "vmlan-services-"));
  readonly guests: Netns[] = [];
  constructor(readonly env: Record<string, string> = {}) {
    this.ns = createNetns();
  }

  async vmlan(...args: string[]) {
    return runVmlan(args, { env: { VMLAN_STATE_DIR: this.stateDir, ...this.env }, netns: this.ns.name });
  }

  /** Runs vmlan and throws with stderr on a non-zero exit. */
  async ok(...args: string[]): Promise<string> {
    const r = await this.vmlan(...args);
    if (r.exitCode !== 0) throw new Error(`vmlan ${args.join(" ")} failed (${r.exitCode}): ${r.stderr}`);
    return r.stdout;
  }

  async json<T = any>(...args: string[]): Promise<T> {
    return JSON.parse(await this.ok(...args, "--format", "json")) as T;
  }

  daemonPid(): number | null {
    try {
      return Number(readFileSync(join(this.stateDir, "services.pid"), "utf8").trim()) || null;
    } catch {
      return null;
    }
  }

  log(): string {
    try {
      return readFileSync(join(this.stateDir, "services.log"), "utf8");
    } catch {
      return "";
    }
  }

  /** Waits until the services log has a line matching `re` (the daemon logs asynchronously). */
  async waitLog(re: RegExp, timeoutMs = 8000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const hit = this.log().split("\n").find((l) => re.test(l));
      if (hit) return hit;
      await Bun.sleep(50);
    }
    throw new Error(`services log never matched ${re}:\n${this.log()}`);
  }

  /** A new guest namespace whose eth0 (with `mac`) is cabled to `bridge` through the veth `hostIf`. */
  cable(bridge: string, hostIf: string, mac: string): Netns {
    const g = createNetns();
    this.guests.push(g);
    this.ns.sh(["ip", "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", g.name]);
    this.ns.sh(["ip", "link", "set", hostIf, "master", bridge, "up"]);
    g.sh(["ip", "link", "set", "eth0", "address", mac, "up"]);
    return g;
  }

  /** The daemon's open fds and resident memory (KiB), read from /proc. */
  daemonUsage(): { fds: number; rssKiB: number } {
    const pid = this.daemonPid();
    if (!pid) throw new Error("no services daemon");
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return { fds: readdirSync(`/proc/${pid}/fd`).length, rssKiB: Number(rss) };
  }

  /**
   * The test resolver (upstream-dns.ts) in a namespace of its own, linked to the host namespace
   * as `address` (10.252.0.0/30 by default); the Host must have VMLAN_DNS_UPSTREAM=address.
   */
  async startUpstream(address = "10.252.0.2"): Promise<{ ns: Netns; stop(): void }> {
    const ns = createNetns();
    this.guests.push(ns);
    const nsAddr = address.replace(/\.\d+$/, ".1");
    linkUpstream(this.ns, ns, { nsIf: "wan0", upIf: "eth0", nsAddr, upAddr: address, prefix: 30 });
    const proc = ns.spawn([BUN, "test/integration/services/upstream-dns.ts"]);
    const reader = proc.stdout.getReader();
    const { value } = await reader.read();
    if (!new TextDecoder().decode(value).includes("ready")) throw new Error("the test resolver did not start");
    reader.releaseLock();
    return { ns, stop: () => proc.kill() };
  }

  /** Stops the daemon through the binary, then (belt and braces) the pid it wrote, then removes everything. */
  async close(): Promise<void> {
    const pid = this.daemonPid();
    await this.vmlan("system", "stop").catch(() => {});
    if (pid) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    for (const g of this.guests) g.delete();
    this.ns.delete();
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/** udhcpc's script: it is called with the lease in its environment and prints it instead of configuring anything. */
let script: string | null = null;
/**
 * Made on first use (a file that never runs udhcpc leaves nothing in /tmp), again after a file's
 * afterAll removed it (test files share this module); the last one goes when the process exits.
 */
function ensureScript(): string {
  if (script && existsSync(script)) return script;
  if (!script) process.once("exit", () => removeScriptDir());
  script = join(mkdtempSync(join(tmpdir(), "vmlan-udhcpc-")), "print.sh");
  writeFileSync(script, '#!/bin/sh\necho "event=$1 ip=$ip mask=$mask router=$router dns=$dns hostname=$hostname domain=$domain mtu=$mtu lease=$lease serverid=$serverid"\n');
  chmodSync(script, 0o755);
  return script;
}
export const removeScriptDir = () => script && rmSync(dirname(script), { recursive: true, force: true });

export type Lease = Record<"ip" | "mask" | "router" | "dns" | "hostname" | "domain" | "mtu" | "lease" | "serverid", string>;

/**
 * One DHCP exchange with busybox udhcpc in `guest` (-n: give up after `tries` DISCOVERs one second
 * apart, -q: quit once bound). Returns the lease, or null when none was obtained.
 */
export function udhcpc(guest: Netns, opts: { hostname?: string; tries?: number } = {}): { lease: Lease | null; output: string } {
  const argv = ["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", String(opts.tries ?? 4), "-T", "1", "-A", "1", "-s", ensureScript(), "-O", "mtu"];
  if (opts.hostname) argv.push("-x", `hostname:${opts.hostname}`);
  const r = guest.run(argv);
  const bound = r.stdout.split("\n").find((l) => l.startsWith("event=bound "));
  if (!bound) return { lease: null, output: r.stdout + r.stderr };
  const lease = Object.fromEntries(bound.split(" ").slice(1).map((kv) => kv.split("=") as [string, string])) as Lease;
  return { lease, output: r.stdout + r.stderr };
}

/** Polls the guest until its eth0 has a global address from `prefix` (SLAAC after DAD takes a second or two). */
export async function slaacAddress(guest: Netns, prefix: string): Promise<string | null> {
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    const addrs = guest.ipJson<Array<{ addr_info: Array<{ local: string; scope: string }> }>>(["-6", "addr", "show", "dev", "eth0"]);
    const hit = addrs.flatMap((a) => a.addr_info).find((i) => i.scope === "global" && i.local.startsWith(prefix));
    if (hit) return hit.local;
    await Bun.sleep(200);
  }
  return null;
}
