/**
 * Published ports as a service for the CLI, run, vm run and apply: add, remove, list, and set an
 * attachment's ports for a run. Every change is checked whole before anything is stored (bad specs:
 * UsageError, exit 2; a host port in effect for another attachment or bound by another program:
 * ConflictError, exit 4, naming the holder), stored in one transaction, then synced to the kernel
 * (sync.ts). Nothing here touches the host except through the platform's PortPublisher.
 */
import { ConflictError, NotFoundError, UsageError } from "../errors.ts";
import type { Store } from "../store/store.ts";
import type { Network } from "../resources/network.ts";
import type { PublishedPort } from "../resources/port.ts";
import type { PortHolder, PortPublisher } from "../../platform/types.ts";
import { familyOf, formatPortSpec, overlaps, sameBinding, sameSpec, type PortSpec } from "./spec.ts";
import { activeHolder, describeHolder, portViews, publishes, type PortView } from "./state.ts";
import { syncPorts, type Synced } from "./sync.ts";

export interface PortServiceOptions {
  now?: () => string;
  /** The services daemon's pid: a port it still holds that no stored port claims is being released. */
  daemonPid?: number | null;
}

/** How long a port the daemon is letting go of may take to come free (it reloads on SIGHUP within ms). */
const RELEASE_WAIT_MS = 1500;

export class PortService {
  readonly #now: () => string;
  readonly #daemonPid: number | null;

  constructor(readonly store: Store, readonly host: PortPublisher | null, o: PortServiceOptions = {}) {
    this.#now = o.now ?? (() => new Date().toISOString());
    this.#daemonPid = o.daemonPid ?? null;
  }

  list(network?: string): PortView[] {
    if (network !== undefined) this.#network(network);
    const views = portViews(this.store, Date.parse(this.#now()));
    return network === undefined ? views : views.filter((v) => v.network === network);
  }

  #network(name: string): Network {
    const n = this.store.getNetwork(name);
    if (!n) throw new NotFoundError(`no network named "${name}"`);
    return n;
  }

  /**
   * Checks specs for (network, id) before anything is stored or allocated: the network can publish
   * them, and no other attachment's port in effect (nor, with probe, another program) holds their
   * host ports. Changes nothing.
   */
  async preflight(network: string, id: string, specs: PortSpec[], o: { probe?: boolean } = {}): Promise<void> {
    const net = this.#network(network);
    if (!publishes(net)) throw new UsageError(`network "${network}" is ${net.mode}: its guests are on the LAN at their own address, so there is nothing to publish; connect to the guest directly`);
    for (const s of specs) {
      if (familyOf(s.hostIp) === 6 && !net.subnetV6) throw new UsageError(`${formatPortSpec(s)}: network "${network}" has no IPv6 prefix, so its guests have no IPv6 address to publish to`);
    }
    const views = portViews(this.store, Date.parse(this.#now()));
    for (const s of specs) {
      const holder = activeHolder(views, network, id, s);
      if (holder) throw new ConflictError(`host port ${formatPortSpec(s)} is already published by ${describeHolder(holder)}`, { details: { holder: holder.spec, network: holder.network, id: holder.id } });
    }
    if (!o.probe || !this.host) return;
    const ours = views.filter((v) => v.network === network && v.id === id && v.state === "active");
    for (const s of specs) {
      if (ours.some((v) => sameBinding(v, s))) continue; // in effect for this attachment already: the daemon holds it for us
      const holder = await this.#probe(s);
      if (holder) throw new ConflictError(`host port ${formatPortSpec(s)} is in use by ${holderName(holder)}`, { details: { pid: holder.pid, program: holder.program } });
    }
  }

  /** A holder that is only the daemon letting go of a port nobody publishes any more is waited out. */
  async #probe(s: PortSpec): Promise<PortHolder | null> {
    const end = Date.now() + RELEASE_WAIT_MS;
    for (;;) {
      const holder = this.host!.probeHostPort(s);
      if (!holder || holder.pid === null || holder.pid !== this.#daemonPid) return holder;
      if (Date.now() > end) return holder;
      await Bun.sleep(50);
    }
  }

  /**
   * Publishes specs for an existing attachment (`vmlan port add`). A spec stored as it is already is
   * reported unchanged; one whose host ports this attachment already publishes differently is a
   * conflict (remove it first).
   */
  async add(network: string, id: string, specs: PortSpec[]): Promise<{ added: PortView[]; unchanged: PortView[] }> {
    const lease = this.#attachment(network, id);
    const stored = this.store.ports.list(network, id);
    const fresh: PortSpec[] = [];
    const same: PortSpec[] = [];
    for (const s of specs) {
      if (stored.some((p) => sameSpec(p, s))) { same.push(s); continue; }
      const clash = stored.find((p) => overlaps(p, s));
      if (clash) throw new ConflictError(`host port ${formatPortSpec(s)} is already published by "${id}" on "${network}" as ${formatPortSpec(clash)}; remove it first`);
      fresh.push(s);
    }
    await this.preflight(network, id, fresh, { probe: lease.state === "active" });
    this.#store(network, id, fresh, []);
    await this.sync([network]);
    const views = this.list(network).filter((v) => v.id === id);
    const pick = (list: PortSpec[]) => views.filter((v) => list.some((s) => sameSpec(v, s)));
    return { added: pick(fresh), unchanged: pick(same) };
  }

  /** Removes specs (matched by host address, ports and protocol), or every port of the attachment. */
  async remove(network: string, id: string, specs: PortSpec[] | "all"): Promise<PortView[]> {
    this.#network(network);
    const before = this.list(network).filter((v) => v.id === id);
    const gone = specs === "all" ? before : specs.map((s) => {
      const hit = before.find((v) => sameBinding(v, s));
      if (!hit) throw new NotFoundError(`"${id}" on "${network}" does not publish ${formatPortSpec(s)}; see \`vmlan port ls ${network}\``);
      return hit;
    });
    if (gone.length === 0) return [];
    this.#store(network, id, [], gone);
    await this.sync(this.#touched(network, gone));
    return gone;
  }

  /**
   * `run -p` / `vm run -p`: the attachment's ports become exactly `specs` (call preflight first,
   * before the attachment is made). Returns the networks to sync.
   */
  async set(network: string, id: string, specs: PortSpec[]): Promise<Synced[]> {
    this.#attachment(network, id);
    const stored = this.store.ports.list(network, id);
    const gone = stored.filter((p) => !specs.some((s) => sameSpec(p, s)));
    const fresh = specs.filter((s) => !stored.some((p) => sameSpec(p, s)));
    await this.preflight(network, id, fresh);
    this.#store(network, id, fresh, gone);
    return this.sync(this.#touched(network, gone));
  }

  /** The network itself, plus networks whose ports may have been waiting for the freed host ports. */
  #touched(network: string, freed: PortSpec[]): string[] {
    const others = this.store.ports.list().filter((p) => p.network !== network && freed.some((f) => overlaps(f, p))).map((p) => p.network);
    return [...new Set([network, ...others])];
  }

  /** Syncs the kernel with the store for these networks (all when omitted); no platform: nothing to do. */
  async sync(networks?: string[], o: { force?: boolean } = {}): Promise<Synced[]> {
    if (!this.host) return [];
    return syncPorts(this.store, this.host, { networks, force: o.force, nowMs: Date.parse(this.#now()) });
  }

  #attachment(network: string, id: string) {
    this.#network(network);
    const lease = this.store.getLease(network, id);
    if (!lease) throw new NotFoundError(`no attachment "${id}" on network "${network}"; attach it first (vmlan attach ${network} --id ${id})`);
    return lease;
  }

  /** One transaction; a conflict that appeared since the checks (another command) is refused inside it. */
  #store(network: string, id: string, add: PortSpec[], remove: Pick<PublishedPort, "proto" | "hostIp" | "hostPort">[]): void {
    const createdAt = this.#now();
    this.store.tx(() => {
      for (const r of remove) this.store.ports.delete({ network, id, proto: r.proto, hostIp: r.hostIp, hostPort: r.hostPort });
      if (add.length === 0) return;
      const views = portViews(this.store, Date.parse(createdAt));
      for (const s of add) {
        const holder = activeHolder(views, network, id, s);
        if (holder) throw new ConflictError(`host port ${formatPortSpec(s)} is already published by ${describeHolder(holder)}`);
        this.store.ports.put({ network, id, ...s, createdAt });
      }
    });
  }
}

export function holderName(h: PortHolder): string {
  if (h.program && h.pid !== null) return `${h.program} (pid ${h.pid})`;
  if (h.pid !== null) return `pid ${h.pid}`;
  return "another program on this host";
}
