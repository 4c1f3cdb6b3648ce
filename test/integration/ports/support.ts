/**
 * Shared by the published-ports tests: a vmlan host namespace (system start: the services daemon),
 * guest namespaces cabled to a network's bridge with the address vmlan attached, an "upstream" LAN
 * namespace on the host's wan0, servers in the guests (busybox httpd, a UDP echo) and clients
 * (curl, a UDP probe) in any of them. Nothing runs in the root namespace.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../services/support.ts";
import { BUN, createNetns, linkUpstream, type Netns } from "../../support/netns.ts";
import { networkRules } from "../../support/nat-rules.ts";

export const WAN = { host: "10.252.0.1", lan: "10.252.0.2", host6: "fd52::1", lan6: "fd52::2" };

export interface GuestNs { ns: Netns; id: string; network: string; bridge: string; hostIf: string; address: string; address6: string | null; gateway: string }

let cables = 0;

export class PortsHost extends Host {
  readonly up: Netns;
  readonly #procs: ReturnType<Netns["spawn"]>[] = [];
  readonly #www = mkdtempSync(join(tmpdir(), "vmlan-www-"));

  constructor() {
    super();
    this.up = createNetns();
    linkUpstream(this.ns, this.up, { nsIf: "wan0", upIf: "eth0", nsAddr: WAN.host, upAddr: WAN.lan, prefix: 24 });
    this.ns.sh(["ip", "-6", "addr", "add", `${WAN.host6}/64`, "dev", "wan0", "nodad"]);
    this.up.sh(["ip", "-6", "addr", "add", `${WAN.lan6}/64`, "dev", "eth0", "nodad"]);
  }

  /** Attaches `id` through the binary and cables a guest namespace with that lease (v4 and v6, default routes). */
  async guest(network: string, id: string): Promise<GuestNs> {
    const a = await this.json("attach", network, "--id", id);
    const net = (await this.json("network", "inspect", network))[0];
    const hostIf = `vp${process.pid % 1000}x${cables++}`;
    const g = this.cable(net.bridge, hostIf, a.mac);
    g.sh(["ip", "addr", "add", `${a.address}/${a.prefixLength}`, "dev", "eth0"]);
    g.sh(["ip", "route", "add", "default", "via", a.gateway]);
    if (a.addressV6) {
      g.sh(["ip", "-6", "addr", "add", `${a.addressV6}/${a.prefixLengthV6}`, "dev", "eth0", "nodad"]);
      g.sh(["ip", "-6", "route", "add", "default", "via", net.gatewayV6]);
    }
    return { ns: g, id, network, bridge: net.bridge, hostIf, address: a.address, address6: a.addressV6, gateway: a.gateway };
  }

  /** After the bridge was made again (system stop/start): the guest's veth joins it again. */
  async recable(g: GuestNs): Promise<void> {
    this.ns.sh(["ip", "link", "set", g.hostIf, "master", g.bridge, "up"]);
  }

  /** busybox httpd in the guest on each port, answering "<text> <port>". */
  async http(g: GuestNs, text: string, ...ports: number[]): Promise<void> {
    for (const port of ports) {
      const dir = join(this.#www, `${g.id}-${port}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "index.html"), `${text} ${port}\n`);
      this.#procs.push(g.ns.spawn(["busybox", "httpd", "-f", "-p", String(port), "-h", dir]));
    }
    for (const port of ports) await until(() => get(g.ns, `http://127.0.0.1:${port}/`, 1) !== null, `httpd on ${port}`);
  }

  async udpEcho(g: GuestNs, ...ports: number[]): Promise<void> {
    const p = g.ns.spawn([BUN, "test/support/udp-echo.ts", "--tag", g.id, ...ports.flatMap((x) => ["--port", String(x)])]);
    this.#procs.push(p);
    const reader = p.stdout.getReader();
    const { value } = await reader.read();
    if (!new TextDecoder().decode(value).includes("ready")) throw new Error("udp echo did not start");
    reader.releaseLock();
  }

  /** A process in a namespace that lives until close(). */
  spawn(ns: Netns, argv: string[]) {
    const p = ns.spawn(argv);
    this.#procs.push(p);
    return p;
  }

  async close(): Promise<void> {
    for (const p of this.#procs) p.kill("SIGKILL");
    await super.close();
    this.up.delete();
    rmSync(this.#www, { recursive: true, force: true });
  }
}

/** GET url with curl from `ns`: the body, or null when it could not be fetched within timeout seconds. */
export function get(ns: Netns, url: string, timeout = 2): string | null {
  const r = ns.run(["curl", "-sS", "-g", "--noproxy", "*", "-m", String(timeout), url]);
  return r.code === 0 ? r.stdout.trim() : null;
}

/**
 * The first request over a path nobody used yet. The namespaces' links were made moments ago, and
 * while their link-local addresses are tentative (IPv6 duplicate address detection, 1-2 s after a
 * link comes up) the first SYN through the port is lost and TCP retries 1 s later (seen in captures:
 * 1 s or 2 s, never once DAD was over), which a LAN and a guest that have been up for longer never
 * see. So it waits for DAD to end first, as a real LAN would have. Slower than 2 s, or failing:
 * what each namespace knew is printed.
 */
export function getFirst(url: string, from: Netns, others: Netns[], timeout = 6): string | null {
  const all = [from, ...others];
  const tentative = () => all.some((ns) => ns.run(["ip", "-6", "addr", "show", "tentative"]).stdout.trim() !== "");
  for (const end = Date.now() + 5000; tentative() && Date.now() < end;) Bun.sleepSync(50);
  const t0 = performance.now();
  const r = from.run(["curl", "-sS", "-g", "--noproxy", "*", "-m", String(timeout), url]);
  const ms = Math.round(performance.now() - t0);
  if (r.code !== 0 || ms > 2000) {
    const state = [from, ...others].map((ns) => `--- ${ns.name}\n${["neigh", "route", "addr"].map((what) => ns.run(["ip", "-6", what]).stdout).join("")}`);
    console.warn(`first request to ${url}: ${r.code === 0 ? "answered" : `failed (${r.stderr.trim()})`} after ${ms} ms\n${state.join("\n")}`);
  }
  return r.code === 0 ? r.stdout.trim() : null;
}

export function udp(ns: Netns, host: string, port: number, message: string, timeoutMs = 1500): string | null {
  const r = ns.run([BUN, "test/support/udp-probe.ts", host, String(port), message, String(timeoutMs)]);
  return r.code === 0 ? r.stdout.trim() : null;
}

export async function until(ok: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** The network's chains in vmlan's table as the kernel lists them (nft), or "" when it has none. */
export const nftTable = (ns: Netns, bridge: string): string => networkRules(ns, bridge);

/** Every DNAT rule in the namespace (all tables, or one listing), for "nothing left behind". */
export function dnatRules(ns: Netns, listing = ns.sh(["nft", "list", "ruleset"])): string[] {
  return listing.split("\n").filter((l) => /\bdnat (ip6? )?to\b/.test(l)).map((l) => l.trim());
}
