/**
 * Keeps one DHCP and one DNS server running per stored network whose bridge is up, and nothing
 * else: reconcile() compares what the store says with what runs, starts what is missing, stops
 * what is gone, restarts what changed or crashed. Called at start, on SIGHUP and on a timer, so a
 * crashed or not-yet-startable server comes back with a logged line instead of silently vanishing.
 */
import { LeaseService } from "../core/leases.ts";
import type { Network } from "../core/resources/network.ts";
import { dnsDomainOf } from "../core/resources/network.ts";
import type { Store } from "../core/store/store.ts";
import { DhcpServer, type DhcpServerOptions } from "./dhcp/server.ts";
import { DnsServer, type DnsServerOptions } from "./dns/server.ts";
import { RaServer } from "./ra/server.ts";
import { type Logger, logger } from "./log.ts";

export interface SupervisorOptions {
  store: Store;
  /** Whether the network's host side is up (the bridge exists); servers start only then. */
  bridgeUp: (bridge: string) => boolean;
  /**
   * The interface a network is served on, when it is not the stored bridge: on macOS vmnet names its
   * bridge itself, and it is found by the gateway address it carries. null: not up (yet).
   */
  hostInterface?: (n: Network) => string | null;
  /** Router advertisements (default true); off on macOS, where vmnet advertises the network's prefix. */
  ra?: boolean;
  log?: (component: string) => Logger;
  dnsPort?: number;
  dhcpPort?: number;
  /** Server factories: the real ones by default; tests pass doubles to exercise crashes and restarts. */
  startDhcp?: (o: DhcpServerOptions) => { stop(): Promise<void> };
  startDns?: (o: DnsServerOptions) => Promise<{ stop(): void }>;
  startRa?: (o: { network: string; bridge: string; store: Store; log: Logger }) => { stop(): void };
  now?: () => number;
}

/** The longest wait between restarts of a server that keeps crashing. */
const MAX_BACKOFF_MS = 60_000;
/** A server that ran this long is healthy again: its crash count starts over. */
const HEALTHY_AFTER_MS = 60_000;

interface Running {
  key: string;
  dhcp: { stop(): Promise<void> } | null;
  dns: { stop(): void } | null;
  ra: { stop(): void } | null;
  crashed: string | null;
  since: number;
}

/** What a running server depends on: a change in any of these restarts it. */
function configKey(n: Network): string {
  return JSON.stringify([n.bridge, n.mode, n.mtu, n.subnet, n.gateway, n.subnetV6, n.gatewayV6, n.dhcp, dnsDomainOf(n)]);
}

export class Supervisor {
  readonly #o: SupervisorOptions;
  readonly #leases: LeaseService;
  readonly #running = new Map<string, Running>();
  /** Last failure per network and service: repeated identical failures are logged once. */
  readonly #lastError = new Map<string, string>();
  readonly #log: (component: string) => Logger;
  readonly #now: () => number;
  #busy: Promise<void> = Promise.resolve();
  /** Crashes in a row per network (reset once a server has run for a while) and when the next restart may happen. */
  readonly #crashes = new Map<string, number>();
  readonly #notBefore = new Map<string, number>();

  constructor(o: SupervisorOptions) {
    this.#o = o;
    this.#leases = new LeaseService(o.store);
    this.#log = o.log ?? logger;
    this.#now = o.now ?? Date.now;
  }

  /** A vmnet bridge can change its name when its network is made again: that restarts the servers too. */
  #key(n: Network): string {
    return JSON.stringify([configKey(n), this.#iface(n)]);
  }

  /** The interface `n` is served on, or null while it is not up. */
  #iface(n: Network): string | null {
    if (this.#o.hostInterface) return this.#o.hostInterface(n);
    return this.#o.bridgeUp(n.bridge) ? n.bridge : null;
  }

  /** Serialised: a SIGHUP during a reconcile queues another one. */
  reconcile(): Promise<void> {
    this.#busy = this.#busy.then(() => this.#reconcile()).catch((e) => this.#log("services")(`reconcile failed: ${(e as Error).message}`));
    return this.#busy;
  }

  async #reconcile(): Promise<void> {
    // Bridged networks are served by their LAN (its DHCP, DNS and router), never by vmlan.
    const wanted = new Map(this.#o.store.listNetworks().filter((n) => n.mode !== "bridged" && this.#iface(n) !== null).map((n) => [n.name, n]));
    for (const [name, r] of this.#running) {
      const n = wanted.get(name);
      if (n && r.key === this.#key(n) && !r.crashed) continue;
      if (n && r.crashed && this.#now() < (this.#notBefore.get(name) ?? 0)) continue;
      await this.#stop(name, r);
      this.#log(`services[${name}]`)(r.crashed ? `restarting after a crash: ${r.crashed}` : n ? "configuration changed: restarting" : "network gone or down: stopped");
    }
    for (const [name, r] of this.#running) {
      if (!r.crashed && this.#now() - r.since > HEALTHY_AFTER_MS) this.#crashes.delete(name);
    }
    for (const [name, n] of wanted) {
      const r = this.#running.get(name) ?? { key: this.#key(n), dhcp: null, dns: null, ra: null, crashed: null, since: this.#now() };
      this.#running.set(name, r);
      if (n.dhcp && !r.dhcp) r.dhcp = await this.#try(name, "dhcp", () => this.#startDhcp(n, r));
      if (n.subnetV6 && !r.ra && this.#o.ra !== false) {
        r.ra = await this.#try(name, "ra", () => (this.#o.startRa ?? RaServer.start)({ network: name, bridge: n.bridge, store: this.#o.store, log: this.#log(`ra[${name}]`) }));
      }
      if (!r.dns) r.dns = await this.#try(name, "dns", () => (this.#o.startDns ?? DnsServer.start)({
        network: name, store: this.#o.store, log: this.#log(`dns[${name}]`), ownAddresses: () => this.ownAddresses(), port: this.#o.dnsPort,
      }));
    }
  }

  #startDhcp(n: Network, r: Running): { stop(): Promise<void> } {
    return (this.#o.startDhcp ?? DhcpServer.start)({
      network: n.name, bridge: this.#iface(n) ?? n.bridge, store: this.#o.store, leases: this.#leases, log: this.#log(`dhcp[${n.name}]`), port: this.#o.dhcpPort,
      onCrash: (reason) => {
        // The periodic reconcile restarts it, after a back-off that doubles with each crash in a row.
        r.crashed = `dhcp: ${reason}`;
        const crashes = (this.#crashes.get(n.name) ?? 0) + 1;
        this.#crashes.set(n.name, crashes);
        const wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (crashes - 1));
        this.#notBefore.set(n.name, this.#now() + wait);
        this.#log(`dhcp[${n.name}]`)(`server crashed: ${reason}; restarting in ${Math.round(wait / 1000)} s (crash ${crashes} in a row)`);
      },
    });
  }

  /** Starts one server; a failure is logged (once per distinct error) and retried at the next reconcile. */
  async #try<T>(name: string, what: string, fn: () => T | Promise<T>): Promise<T | null> {
    try {
      const out = await fn();
      this.#lastError.delete(`${name}/${what}`);
      this.#log(`${what}[${name}]`)("listening");
      return out;
    } catch (e) {
      this.#failed(name, what, e);
      return null;
    }
  }

  #failed(name: string, what: string, e: unknown): void {
    const msg = (e as Error).message;
    const key = `${name}/${what}`;
    if (this.#lastError.get(key) !== msg) this.#log(`${what}[${name}]`)(`cannot start: ${msg} (retrying)`);
    this.#lastError.set(key, msg);
  }

  async #stop(name: string, r: Running): Promise<void> {
    this.#running.delete(name);
    r.dns?.stop();
    r.ra?.stop();
    await r.dhcp?.stop();
  }

  /**
   * Gateway addresses of every stored network (DNS never forwards to these). Not a bridged network's:
   * its gateway is the LAN's router, which is often the host's own resolver.
   */
  ownAddresses(): Set<string> {
    return new Set(this.#o.store.listNetworks().filter((n) => n.mode !== "bridged").flatMap((n) => [n.gateway, ...(n.gatewayV6 ? [n.gatewayV6] : [])]));
  }

  /** What runs, for logs and tests: network → services. */
  running(): Record<string, string[]> {
    return Object.fromEntries([...this.#running].map(([k, r]) => [k, [...(r.dhcp ? ["dhcp"] : []), ...(r.dns ? ["dns"] : []), ...(r.ra ? ["ra"] : [])]]));
  }

  async stopAll(): Promise<void> {
    await this.#busy;
    await Promise.all([...this.#running].map(([name, r]) => this.#stop(name, r)));
  }
}
