/**
 * A LAN for the bridged-mode tests, made only of namespaces they create (never a real NIC):
 *   host — runs the compiled vmlan; its "uplink" up0 is one end of a veth, configured as a host's
 *          LAN interface would be: two addresses, an IPv6 one, a default route and a static route
 *   lan  — the other end (lan0, 10.99.0.1, the LAN's router) runs busybox udhcpd, the LAN's DHCP server
 * Guests are more namespaces cabled to the network's bridge with a veth (as test/integration/services).
 */
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { createNetns, type Netns } from "../../support/netns.ts";

export const LAN = { router: "10.99.0.1", host: "10.99.0.2", second: "10.99.0.3", host6: "fd99::2", router6: "fd99::1", subnet: "10.99.0.0/24", poolStart: 100, poolEnd: 150 };

type AddrInfo = { family: string; local: string; prefixlen: number; scope: string };
type LinkJson = { ifname: string; address: string; master?: string; mtu: number; addr_info?: AddrInfo[] };
type RouteJson = { dst: string; gateway?: string; dev: string; metric?: number; protocol?: string };

export class BridgedLan {
  readonly host: Netns;
  readonly lan: Netns;
  readonly guests: Netns[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), "vmlan-bridged-"));
  readonly stateDir = join(this.dir, "state");
  #dhcpd: ReturnType<Netns["spawn"]> | null = null;

  constructor() {
    this.host = createNetns();
    this.lan = createNetns();
    const h = this.host;
    h.sh(["ip", "link", "add", "up0", "type", "veth", "peer", "name", "lan0", "netns", this.lan.name]);
    this.lan.sh(["ip", "addr", "add", `${LAN.router}/24`, "dev", "lan0"]);
    this.lan.sh(["ip", "addr", "add", `${LAN.router6}/64`, "dev", "lan0", "nodad"]);
    this.lan.sh(["ip", "link", "set", "lan0", "up"]);
    h.sh(["ip", "addr", "add", `${LAN.host}/24`, "dev", "up0"]);
    h.sh(["ip", "addr", "add", `${LAN.second}/24`, "dev", "up0"]);
    h.sh(["ip", "addr", "add", `${LAN.host6}/64`, "dev", "up0", "nodad"]);
    h.sh(["ip", "link", "set", "up0", "up"]);
    h.sh(["ip", "route", "add", "default", "via", LAN.router, "dev", "up0"]);
    h.sh(["ip", "route", "add", "10.98.0.0/24", "via", LAN.router, "dev", "up0", "metric", "50"]);
    h.sh(["ip", "route", "add", "10.96.0.0/24", "via", LAN.router, "dev", "up0", "table", "100"]); // policy routing's table
  }

  /** busybox udhcpd on lan0: 10.99.0.100-150, router and DNS 10.99.0.1. */
  startDhcpServer(): void {
    const conf = join(this.dir, "udhcpd.conf");
    writeFileSync(join(this.dir, "udhcpd.leases"), "");
    writeFileSync(conf, [
      `start 10.99.0.${LAN.poolStart}`, `end 10.99.0.${LAN.poolEnd}`, "interface lan0", `lease_file ${join(this.dir, "udhcpd.leases")}`,
      `pidfile ${join(this.dir, "udhcpd.pid")}`, `opt router ${LAN.router}`, `opt dns ${LAN.router}`, "opt subnet 255.255.255.0", "opt lease 600", "",
    ].join("\n"));
    this.#dhcpd = this.lan.spawn(["busybox", "udhcpd", "-f", conf]);
  }

  vmlan(...args: string[]) {
    return runVmlan(args, { env: { VMLAN_STATE_DIR: this.stateDir }, netns: this.host.name });
  }

  async json<T = any>(...args: string[]): Promise<T> {
    const r = await this.vmlan(...args, "--format", "json");
    if (r.exitCode !== 0) throw new Error(`vmlan ${args.join(" ")} failed (${r.exitCode}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  link(dev: string): LinkJson | null {
    const r = this.host.run(["ip", "-j", "addr", "show", "dev", dev]);
    return r.code === 0 ? (JSON.parse(r.stdout) as LinkJson[])[0]! : null;
  }

  /** Global addresses on `dev` as "addr/len", in the kernel's order. */
  addrs(dev: string): string[] {
    return (this.link(dev)?.addr_info ?? []).filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`);
  }

  /** Routes that are not the kernel's own (prefix routes), both families, main table and table 100, as "dst via gw dev metric". */
  routes(): string[] {
    const out: string[] = [];
    for (const fam of ["-4", "-6"]) {
      for (const table of fam === "-4" ? ["main", "100"] : ["main"]) { // no IPv6 table 100 here
        for (const r of this.host.ipJson<RouteJson[]>([fam, "route", "show", "table", table])) {
          if (r.protocol === "kernel" || r.dst.startsWith("fe80") || r.dst.startsWith("ff00")) continue;
          out.push(`${r.dst}${r.gateway ? ` via ${r.gateway}` : ""} dev ${r.dev}${r.metric ? ` metric ${r.metric}` : ""}${table === "main" ? "" : ` table ${table}`}`);
        }
      }
    }
    return out.sort();
  }

  /** Everything a user would notice about the host's networking, to compare before and after. */
  snapshot(): string {
    const links = this.host.ipJson<LinkJson[]>(["addr"]).map((l) => ({ name: l.ifname, master: l.master ?? null, mtu: l.mtu, addrs: (l.addr_info ?? []).filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`) }));
    return JSON.stringify({ links, routes: this.routes() });
  }

  /** A guest namespace whose eth0 (MAC `mac`) is cabled to `bridge` through the veth `hostIf`. */
  cable(bridge: string, hostIf: string, mac: string): Netns {
    const g = createNetns();
    this.guests.push(g);
    this.host.sh(["ip", "link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", g.name]);
    this.host.sh(["ip", "link", "set", hostIf, "master", bridge, "up"]);
    g.sh(["ip", "link", "set", "eth0", "address", mac, "up"]);
    return g;
  }

  close(): void {
    this.#dhcpd?.kill("SIGKILL");
    for (const g of this.guests) g.delete();
    this.host.delete();
    this.lan.delete();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const SCRIPT_DIR = mkdtempSync(join(tmpdir(), "vmlan-udhcpc-b-"));
/** udhcpc's script: configure eth0 as a real client would, and print the lease. */
export const CONFIGURE_SCRIPT = join(SCRIPT_DIR, "configure.sh");
writeFileSync(CONFIGURE_SCRIPT, [
  "#!/bin/sh",
  'case "$1" in bound|renew)',
  '  ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface"',
  '  [ -n "$router" ] && ip route replace default via "$router" dev "$interface"',
  '  echo "event=$1 ip=$ip mask=$mask router=$router serverid=$serverid";;',
  "esac", "",
].join("\n"));
chmodSync(CONFIGURE_SCRIPT, 0o755);
export const removeScripts = () => rmSync(SCRIPT_DIR, { recursive: true, force: true });
