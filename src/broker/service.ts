/**
 * The broker's policy: which peers may connect, what each request does, reference counting per
 * client connection (Registry), per-user caps (limits.ts), and bringing networks up and down
 * through the platform. Networks it brings up are recorded (owned.ts), so a successor adopts them;
 * an idle network whose bridge still has ports (a predecessor's clients, helpers of `vmlan run`)
 * is not torn down under them: its idle time starts again.
 */
import { readdirSync, readFileSync } from "node:fs";
import { ConflictError, NotFoundError, UsageError, VmlanError } from "../core/errors.ts";
import type { NetworkService } from "../core/networks.ts";
import type { Network } from "../core/resources/network.ts";
import { hostSpec } from "../core/network-config.ts";
import { Registry, type Clock } from "./registry.ts";
import { BrokerLeases } from "./leases.ts";
import type { Owner } from "../core/resources/attachment.ts";
import type { OwnerPolicy } from "../core/owners.ts";
import { DEFAULT_LIMITS, Usage, type BrokerLimits } from "./limits.ts";
import type { OwnedNetworks } from "./owned.ts";
import { attachmentIdentity, followPort } from "../core/port-follow.ts";
import type { Client, Handled, Handlers } from "./server.ts";
import type { Request, AcquireResult } from "./protocol.ts";
import type { PeerCred } from "../ipc/unix-stream.ts";
import type { PortIdentity, TapOpener, TapPort } from "../platform/types.ts";

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
  limits?: BrokerLimits;
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

/** This process's open descriptors (Linux /proc, macOS /dev/fd), for `status`: fd growth is visible from outside. */
function openFds(): number | null {
  for (const dir of ["/proc/self/fd", "/dev/fd"]) {
    try {
      return readdirSync(dir).length;
    } catch {}
  }
  return null;
}

export class BrokerService implements Handlers {
  readonly registry: Registry;
  readonly started = Date.now();
  #clients = new Map<number, PeerCred>();
  #ownedUp: Set<string> | OwnedNetworks; // networks this broker brought up (and so may take down)
  /** Ports handed out per client (a Linux TAP is detached, a macOS vmnet port stopped), released with its hold. */
  #ports = new Map<number, { network: string; release: () => Promise<void> }[]>();
  #stopRequested = false;
  #shuttingDown = false;
  readonly #pending = new Set<Promise<void>>();
  readonly leases: BrokerLeases;
  readonly limits: BrokerLimits;
  readonly #tapUse = new Usage();
  readonly #leaseUse = new Usage();

  constructor(readonly networks: NetworkService, readonly taps: TapOpener | null, readonly policy: BrokerPolicy, readonly log: (m: string) => void, clock: Clock = realClock, owned: OwnedNetworks | null = null) {
    this.registry = new Registry(policy.idleMs, { up: (n) => this.#up(n), down: (n) => this.#down(n) }, clock);
    this.leases = new BrokerLeases(networks.store, log, policy.owners);
    this.limits = policy.limits ?? DEFAULT_LIMITS;
    this.#ownedUp = owned ?? new Set<string>();
  }

  /**
   * Takes over what the previous broker on this socket brought up and left behind (a crash, an
   * upgrade): each such network that is still up idles out here as if this broker had brought it up.
   */
  async adopt(names: string[]): Promise<string[]> {
    const adopted: string[] = [];
    for (const name of names) {
      const n = this.networks.store.getNetwork(name);
      const up = n && this.networks.platform ? (await this.networks.platform.status(hostSpec(n))).up : false;
      if (!up) {
        this.#ownedUp.delete(name);
        continue;
      }
      this.#ownedUp.add(name);
      this.registry.adopt(name);
      adopted.push(name);
    }
    if (adopted.length) this.log(`adopted ${adopted.join(", ")} from the previous broker; down after ${this.policy.idleMs / 1000}s idle`);
    return adopted;
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
    // Recorded before it is brought up: a broker killed half-way still leaves its successor the record.
    if (!already) this.#ownedUp.add(name);
    try {
      await platform.ensureNetwork(this.networks.spec(n)); // spec(): a bridged network's move is journaled
    } catch (e) {
      if (!already) this.#ownedUp.delete(name);
      throw e;
    }
    this.log(`network ${name} up (bridge ${n.bridge})`);
  }

  #down(name: string): void {
    if (!this.#ownedUp.has(name)) return;
    const n = this.networks.store.getNetwork(name);
    const platform = this.networks.platform;
    if (!n || !platform) {
      this.#ownedUp.delete(name);
      return;
    }
    const done = (async () => {
      const ports = this.#shuttingDown ? 0 : ((await platform.status(hostSpec(n))).ports ?? 0);
      if (ports > 0) {
        // Someone still uses the bridge without holding it here: wait another idle period.
        this.log(`network ${name} idle but ${ports} port(s) still on ${n.bridge}; checking again in ${this.policy.idleMs / 1000}s`);
        return this.registry.adopt(name);
      }
      this.#ownedUp.delete(name);
      await platform.removeNetwork(this.networks.spec(n));
      this.log(`network ${name} down after ${this.policy.idleMs / 1000}s idle`);
    })().catch((e) => this.log(`tearing down ${name} failed: ${(e as Error).message}`));
    this.#pending.add(done);
    void done.finally(() => this.#pending.delete(done));
  }

  async onRequest(client: Client, req: Request): Promise<Handled> {
    if (!this.#clients.has(client.id)) {
      this.#clients.set(client.id, client.cred);
      this.#tapUse.connect(client.id, client.cred.uid);
      this.#leaseUse.connect(client.id, client.cred.uid);
    }
    switch (req.op) {
      case "acquire": return this.#acquire(client, req.network, req.tap ?? false);
      case "release": {
        if (!this.registry.release(req.network, client.id)) throw new NotFoundError(`this client holds no "${req.network}"`);
        this.#releasePorts(client.id, req.network);
        return { result: { released: req.network } };
      }
      case "attach": {
        const mine = this.leases.has(client.id, req.network, req.interfaceId);
        const refused = mine ? null : this.#leaseUse.refusal(client.id, "leases", this.limits.leasesPerConnection, this.limits.leasesPerUser);
        if (refused) throw new ConflictError(refused, { code: "ELIMIT" });
        const lease = this.leases.attach(client.id, req);
        if (!mine) this.#leaseUse.add(client.id, 1);
        return { result: lease };
      }
      case "detach": {
        this.leases.detach(client.id, req.network, req.interfaceId);
        this.#leaseUse.add(client.id, -1);
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
    const refused = wantTap ? this.#tapUse.refusal(client.id, "TAPs", this.limits.tapsPerConnection, this.limits.tapsPerUser) : null;
    if (refused) throw new ConflictError(refused, { code: "ELIMIT" });
    await this.registry.acquire(name, client.id);
    let tap: TapPort | null = null;
    const id = this.leases.heldOn(client.id, name);
    try {
      // Guarded for the lease this client attached here, if any (else it learns its MAC, and DHCP gives it its lease).
      if (wantTap) tap = this.taps!.openTap(hostSpec(n), this.#identity(name, id));
    } catch (e) {
      this.registry.release(name, client.id);
      throw e;
    }
    if (tap) {
      const port = tap;
      const guard = tap.guard;
      const follow = guard ? followPort(guard, { network: name, leases: this.leases.service, log: this.log, ...(id ? { id } : {}) }) : null;
      const list = this.#ports.get(client.id) ?? [];
      // The TAP leaves the bridge now; its rules go once the client closed it (else they are swept later).
      list.push({ network: name, release: async () => { follow?.stop(); await port.release?.(); guard?.release(); } });
      this.#ports.set(client.id, list);
      this.#tapUse.add(client.id, 1);
    }
    const result: AcquireResult = {
      network: { name: n.name, mode: n.mode, subnet: n.subnet, gateway: n.gateway, subnetV6: n.subnetV6, gatewayV6: n.gatewayV6, mtu: n.mtu, bridge: n.bridge },
      tap: tap ? { ifname: tap.ifname } : null,
    };
    return { result, ...(tap ? { fd: tap.fd } : {}) };
  }

  #identity(network: string, id: string | undefined): PortIdentity {
    try {
      const a = id ? this.leases.service.get(network, id) : null;
      return a ? attachmentIdentity(this.leases.service, a) : { mac: null, lease: null };
    } catch {
      return { mac: null, lease: null }; // detached meanwhile: learn like any port without a lease
    }
  }

  /** Stops the broker-side ports of `client` (one of `network`, or all). */
  #releasePorts(client: number, network?: string): void {
    const list = this.#ports.get(client) ?? [];
    const i = network === undefined ? 0 : list.findIndex((p) => p.network === network);
    if (i < 0) return;
    for (const p of list.splice(i, network === undefined ? list.length : 1)) {
      this.#tapUse.add(client, -1);
      p.release().catch((e: unknown) => this.log(`releasing a port on ${p.network} failed: ${(e as Error).message}`));
    }
    if (list.length === 0) this.#ports.delete(client);
  }

  onDisconnect(client: Client): void {
    this.#releasePorts(client.id);
    const dropped = this.registry.disconnect(client.id);
    const leases = this.leases.disconnect(client.id);
    this.#clients.delete(client.id);
    this.#tapUse.disconnect(client.id);
    this.#leaseUse.disconnect(client.id);
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
      openFds: openFds(),
      networks: this.registry.snapshot().map((s) => ({
        name: s.network, up: s.up, teardownInSeconds: s.teardownInMs === null ? null : Math.ceil(s.teardownInMs / 1000),
        holders: s.holders.map((id) => ({ client: id, pid: this.#clients.get(id)?.pid ?? null, uid: this.#clients.get(id)?.uid ?? null })),
      })),
    };
  }

  /** Broker exit: every port released, every network this broker owns torn down (ports or not). */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    for (const id of [...this.#ports.keys()]) this.#releasePorts(id);
    this.registry.shutdown();
    await Promise.all([...this.#pending]);
  }
}
