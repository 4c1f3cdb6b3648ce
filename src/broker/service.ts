/**
 * The broker's policy: which peers may connect, what each request does, reference counting per
 * client connection (Registry), and bringing networks up and down through the platform.
 */
import { readFileSync } from "node:fs";
import { ConflictError, NotFoundError, UsageError, VmlanError } from "../core/errors.ts";
import type { NetworkService } from "../core/networks.ts";
import type { Network } from "../core/resources/network.ts";
import { hostSpec } from "../core/network-config.ts";
import { Registry, type Clock } from "./registry.ts";
import { BrokerLeases } from "./leases.ts";
import type { Owner } from "../core/resources/attachment.ts";
import type { OwnerPolicy } from "../core/owners.ts";
import type { Client, Handled, Handlers } from "./server.ts";
import type { Request, AcquireResult } from "./protocol.ts";
import type { PeerCred } from "../ipc/unix-stream.ts";
import type { TapOpener, TapPort } from "../platform/types.ts";

export interface BrokerPolicy {
  idleMs: number;
  /** Exit after this long with no client and nothing held (on-demand start), or null. */
  exitIdleMs: number | null;
  /** Group allowed besides root and the broker's own user. */
  gid: number | null;
  /**
   * The broker process as the owner of the leases it attaches without `keep`, and how owners are told
   * alive (issue #12 item 10): if the broker dies without releasing them, they are released as orphans.
   */
  owners?: { self: Owner; policy: OwnerPolicy };
}

const realClock: Clock = { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as Timer) };

/** Supplementary groups of a process, from /proc (the peer's credentials only carry its primary gid). */
function groupsOf(pid: number): number[] {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("Groups:"));
    return line ? line.slice(7).trim().split(/\s+/).filter(Boolean).map(Number) : [];
  } catch {
    return [];
  }
}

export class BrokerService implements Handlers {
  readonly registry: Registry;
  readonly started = Date.now();
  #clients = new Map<number, PeerCred>();
  #ownedUp = new Set<string>(); // networks this broker brought up (and so may take down)
  /** Ports whose host side runs in the broker (macOS vmnet), per client, released with its hold. */
  #ports = new Map<number, { network: string; release: () => Promise<void> }[]>();
  #stopRequested = false;
  readonly leases: BrokerLeases;

  constructor(readonly networks: NetworkService, readonly taps: TapOpener | null, readonly policy: BrokerPolicy, readonly log: (m: string) => void, clock: Clock = realClock) {
    this.registry = new Registry(policy.idleMs, { up: (n) => this.#up(n), down: (n) => this.#down(n) }, clock);
    this.leases = new BrokerLeases(networks.store, log, policy.owners);
  }

  allow(cred: PeerCred): boolean {
    const me = process.getuid?.() ?? 0;
    if (cred.uid === 0 || cred.uid === me) return true;
    if (this.policy.gid === null) return false;
    return cred.gid === this.policy.gid || groupsOf(cred.pid).includes(this.policy.gid);
  }

  #network(name: string): Network {
    const n = this.networks.store.getNetwork(name);
    if (n) return n;
    throw new NotFoundError(`no network named "${name}"`);
  }

  async #up(name: string): Promise<void> {
    const n = this.#network(name);
    const platform = this.networks.platform;
    if (!platform) throw new VmlanError("the broker has no host platform");
    // A network someone else brought up (system start) stays up after the broker is done with it.
    const already = (await platform.status(hostSpec(n))).up;
    await platform.ensureNetwork(this.networks.spec(n)); // spec(): a bridged network's move is journaled
    if (!already) this.#ownedUp.add(name);
    this.log(`network ${name} up (bridge ${n.bridge})`);
  }

  #down(name: string): void {
    if (!this.#ownedUp.delete(name)) return;
    const n = this.networks.store.getNetwork(name);
    if (!n || !this.networks.platform) return;
    void this.networks.platform.removeNetwork(this.networks.spec(n)).then(
      () => this.log(`network ${name} down after ${this.policy.idleMs / 1000}s idle`),
      (e) => this.log(`tearing down ${name} failed: ${(e as Error).message}`),
    );
  }

  async onRequest(client: Client, req: Request): Promise<Handled> {
    this.#clients.set(client.id, client.cred);
    switch (req.op) {
      case "acquire": return this.#acquire(client, req.network, req.tap ?? false);
      case "release": {
        if (!this.registry.release(req.network, client.id)) throw new NotFoundError(`this client holds no "${req.network}"`);
        this.#releasePorts(client.id, req.network);
        return { result: { released: req.network } };
      }
      case "attach": return { result: this.leases.attach(client.id, req) };
      case "detach": {
        this.leases.detach(client.id, req.network, req.interfaceId);
        return { result: { detached: req.interfaceId } };
      }
      case "list": return { result: this.registry.snapshot().map((s) => ({ name: s.network, holders: s.holders.length, up: s.up })) };
      case "status": return { result: this.status() };
      case "stop": {
        const holds = this.registry.totalHolds();
        if (holds > 0 && !req.force) throw new ConflictError(`${holds} client(s) hold networks; use --force to stop anyway`);
        this.#stopRequested = true;
        return { result: { stopping: true, holds } };
      }
    }
  }

  async #acquire(client: Client, name: string, wantTap: boolean): Promise<Handled> {
    if (name === "default" && !this.networks.store.getNetwork(name)) {
      throw new NotFoundError(`network "default" does not exist yet; run \`vmlan system start\` once`);
    }
    const n = this.#network(name);
    if (wantTap && !this.taps) throw new UsageError("this platform cannot hand out TAP descriptors");
    await this.registry.acquire(name, client.id);
    let tap: TapPort | null = null;
    try {
      if (wantTap) tap = this.taps!.openTap(hostSpec(n));
    } catch (e) {
      this.registry.release(name, client.id);
      throw e;
    }
    if (tap?.release) {
      const port = tap;
      const list = this.#ports.get(client.id) ?? [];
      list.push({ network: name, release: () => port.release!() });
      this.#ports.set(client.id, list);
    }
    const result: AcquireResult = {
      network: { name: n.name, mode: n.mode, subnet: n.subnet, gateway: n.gateway, subnetV6: n.subnetV6, gatewayV6: n.gatewayV6, mtu: n.mtu, bridge: n.bridge },
      tap: tap ? { ifname: tap.ifname } : null,
    };
    return { result, ...(tap ? { fd: tap.fd } : {}) };
  }

  /** Stops the broker-side ports of `client` (one of `network`, or all). */
  #releasePorts(client: number, network?: string): void {
    const list = this.#ports.get(client) ?? [];
    const i = network === undefined ? 0 : list.findIndex((p) => p.network === network);
    if (i < 0) return;
    for (const p of list.splice(i, network === undefined ? list.length : 1)) {
      p.release().catch((e: unknown) => this.log(`releasing a port on ${p.network} failed: ${(e as Error).message}`));
    }
    if (list.length === 0) this.#ports.delete(client);
  }

  onDisconnect(client: Client): void {
    this.#releasePorts(client.id);
    const dropped = this.registry.disconnect(client.id);
    const leases = this.leases.disconnect(client.id);
    this.#clients.delete(client.id);
    if (dropped.length || leases.length) this.log(`client ${client.id} (pid ${client.cred.pid}) left; released ${[...dropped, ...leases.map((l) => `lease ${l}`)].join(", ")}`);
  }

  shouldStop(clients: number): boolean {
    if (this.#stopRequested) return true;
    const idle = this.policy.exitIdleMs;
    return idle !== null && clients === 0 && this.registry.idleFor() >= idle;
  }

  status() {
    return {
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      idleTimeoutSeconds: this.policy.idleMs / 1000,
      networks: this.registry.snapshot().map((s) => ({
        name: s.network, up: s.up, teardownInSeconds: s.teardownInMs === null ? null : Math.ceil(s.teardownInMs / 1000),
        holders: s.holders.map((id) => ({ client: id, pid: this.#clients.get(id)?.pid ?? null, uid: this.#clients.get(id)?.uid ?? null })),
      })),
    };
  }

  shutdown(): void {
    for (const id of [...this.#ports.keys()]) this.#releasePorts(id);
    this.registry.shutdown();
  }
}
