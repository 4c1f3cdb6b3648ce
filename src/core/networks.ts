import { ConflictError, NotFoundError, UsageError, VmlanError } from "./errors.ts";
import type { Network } from "./resources/network.ts";
import { DEFAULT_NETWORK } from "./resources/network.ts";
import { LABEL_ROLE, ROLE_BUILTIN } from "./resources/labels.ts";
import type { Platform, HostNetworkSpec, HostNetworkStatus, StatusOptions, UplinkMoved } from "../platform/types.ts";
import type { Store } from "./store/store.ts";
import { parseRequest, buildNetwork, findOverlap, autoSubnets, uniqueBridge, configDiff, hostSpec } from "./network-config.ts";
import { lanLayout } from "./bridged.ts";
import { uplinkJournal } from "./resources/uplink.ts";

export type CreateOutcome = "created" | "unchanged" | "replaced";

/** A create retries when a concurrent one took its name, bridge or /24; each retry means another create won. */
const MAX_CREATE_ATTEMPTS = 64;

export interface NetworkView extends Network {
  attachments: number;
  host?: HostNetworkStatus;
  /** Bridged networks: what was moved from the uplink to the bridge and comes back on removal. */
  moved?: UplinkMoved | null;
}

/** Per-name result of commands that take several names (rm): one line per failure. */
export interface ItemResult {
  name: string;
  ok: boolean;
  outcome?: string;
  error?: VmlanError;
}

/**
 * The network service: what the CLI (and later the broker) call. It combines the store,
 * IPAM and a platform passed in; `platform` is null where the host side is not managed
 * (store-only commands, unit tests).
 */
export class NetworkService {
  constructor(readonly store: Store, readonly platform: Platform | null, readonly now: () => string = () => new Date().toISOString()) {}

  #host(): Platform {
    if (!this.platform) throw new VmlanError("this command needs the host platform, which is not available here");
    return this.platform;
  }

  get(name: string): Network {
    const n = this.store.getNetwork(name);
    if (!n) throw new NotFoundError(`no network named "${name}"`);
    return n;
  }

  list(): NetworkView[] {
    const counts = this.store.countActiveByNetwork();
    return this.store.listNetworks().map((n) => ({ ...n, attachments: counts.get(n.name) ?? 0 }));
  }

  /** The platform's view of a stored network; a bridged one carries the store's journal of its move. */
  spec(n: Network): HostNetworkSpec {
    return n.mode === "bridged" ? { ...hostSpec(n), journal: uplinkJournal(this.store, n.name) } : hostSpec(n);
  }

  /** `opts`: the platform's (StatusOptions; `rules: false` when only `host.up` matters). */
  async inspect(name: string, opts?: StatusOptions): Promise<NetworkView> {
    const n = this.get(name);
    const host = this.platform ? await this.platform.status(hostSpec(n), opts) : undefined;
    const moved = n.mode === "bridged" ? { moved: uplinkJournal(this.store, n.name).read() } : {};
    return { ...n, attachments: this.store.countActive(n.name), ...(host ? { host } : {}), ...moved };
  }

  /**
   * Creates a network, or confirms an identical one ("unchanged"), or with `replace` recreates
   * a different one that nothing is attached to. The host side is brought up either way.
   *
   * Safe against concurrent creates: the record is inserted in one IMMEDIATE transaction that
   * re-checks name, bridge and overlap; a create that loses the race starts over, so an identical
   * create that lost becomes "unchanged" and one without --subnet takes the next free /24. The
   * record is stored before any host object exists, so a crash later leaves a record whose host
   * side `create` (unchanged) or `system start` completes, or `rm` removes.
   */
  async create(input: unknown, opts: { replace?: boolean; builtin?: boolean } = {}): Promise<{ network: Network; outcome: CreateOutcome }> {
    const req = parseRequest(input);
    const bridged = req.mode === "bridged";
    const range = this.platform?.mtuRange;
    if (range && req.mtu !== undefined && (req.mtu < range.min || req.mtu > range.max)) {
      throw new UsageError(`invalid mtu ${req.mtu}: expected ${range.min}..${range.max} on this host (${range.why})`, { details: { mtu: req.mtu } });
    }
    let replaced = false;
    for (let attempt = 0; ; attempt++) {
      const existing = this.store.getNetwork(req.name);
      if (existing) {
        const diff = configDiff(existing, req);
        if (diff.length === 0) {
          if (this.platform) await this.platform.ensureNetwork(this.spec(existing));
          return { network: existing, outcome: replaced ? "replaced" : "unchanged" };
        }
        if (!opts.replace) throw new UsageError(`network "${req.name}" exists with a different configuration (${diff.join("; ")}); use --replace to recreate it`);
        if (existing.builtin) throw new UsageError(`network "${req.name}" is built in and cannot be replaced`);
        await this.remove(req.name, {});
        replaced = true;
      }
      const host = this.#host();
      host.checkPrivileges();
      const bridge = uniqueBridge(req.name, (b) => this.store.networkWithBridge(b) !== null, bridged);
      // Bridged: every check of the uplink happens here, before anything is stored or moved.
      if (bridged) this.#checkUplinkUnclaimed(req.uplink!);
      const lan = bridged ? lanLayout(await host.probeUplink(req.uplink!, bridge), req) : undefined;
      const subnet = lan?.subnet ?? req.subnet ?? (await this.#pickSubnet(bridge));
      const network = buildNetwork(req, subnet, bridge, this.now(), opts.builtin, lan);
      // A clash with a network created meanwhile under our name (or, without --subnet, on our /24) is a lost race, not an error.
      // The listing is read before the name: outside a transaction each read sees the latest commit,
      // so a network made under our name between the two is then always seen as the race it is.
      const raceOrOverlap = (): boolean => {
        const overlap = findOverlap(network, this.store.listNetworks());
        if (this.store.getNetwork(req.name) || this.store.networkWithBridge(network.bridge)) return true;
        if (bridged) this.#checkUplinkUnclaimed(req.uplink!);
        if (overlap && (req.subnet || bridged)) throw new ConflictError(overlap);
        return overlap !== null;
      };
      let raced = raceOrOverlap();
      if (!raced) {
        try {
          // A bridged network's subnet is the LAN's, routed on the uplink by definition.
          if (!bridged) await host.checkSubnetFree(network.subnet, network.bridge);
          if (network.subnetV6) await host.checkSubnetFree(network.subnetV6, network.bridge);
        } catch (e) {
          // A route of a network created meanwhile is a lost race (or, with --subnet, an overlap to name).
          if (!(e instanceof ConflictError) || !raceOrOverlap()) throw e;
          raced = true;
        }
      }
      if (!raced) {
        raced = this.store.tx(() => {
          if (raceOrOverlap()) return true;
          this.store.insertNetwork(network);
          return false;
        });
      }
      if (raced) {
        if (attempt >= MAX_CREATE_ATTEMPTS) throw new ConflictError(`network "${req.name}": ${MAX_CREATE_ATTEMPTS} concurrent creates raced it; try again`);
        continue;
      }
      try {
        await host.ensureNetwork(this.spec(network));
      } catch (e) {
        // Never leave a record whose host side failed: undo both, then report the cause.
        await host.removeNetwork(this.spec(network)).catch(() => {});
        this.store.tx(() => this.store.deleteNetwork(network.name));
        throw e;
      }
      return { network, outcome: replaced ? "replaced" : "created" };
    }
  }

  /** One uplink, one network: a second bridged network on it is refused even while the first is down. */
  #checkUplinkUnclaimed(uplink: string): void {
    const owner = this.store.listNetworks().find((n) => n.uplink === uplink);
    if (owner) throw new ConflictError(`interface ${uplink} is already the uplink of network "${owner.name}"`, { details: { uplink, network: owner.name } });
  }

  async #pickSubnet(bridge: string): Promise<string> {
    const stored = this.store.listNetworks();
    for (const candidate of autoSubnets()) {
      if (findOverlap({ subnet: candidate, subnetV6: null }, stored)) continue;
      try {
        await this.#host().checkSubnetFree(candidate, bridge);
        return candidate;
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
      }
    }
    throw new ConflictError("no free /24 left in 192.168.65.0-192.168.255.0; pass --subnet");
  }

  /** Removes a network: the host side first, then the record (a crash in between is repaired by rm or system start). */
  async remove(name: string, opts: { force?: boolean; ifExists?: boolean }): Promise<"removed" | "absent"> {
    const n = this.store.getNetwork(name);
    if (!n) {
      if (opts.ifExists) return "absent";
      throw new NotFoundError(`no network named "${name}"`);
    }
    if (n.builtin) throw new UsageError(`network "${name}" is built in and cannot be removed`);
    const active = this.store.countActive(name);
    if (active > 0 && !opts.force) throw new ConflictError(`network "${name}" has ${active} active attachment(s); detach them or use --force`);
    if (this.platform) await this.platform.removeNetwork(this.spec(n));
    this.store.tx(() => this.store.deleteNetwork(name));
    return "removed";
  }

  async removeMany(names: string[], opts: { force?: boolean; ifExists?: boolean }): Promise<ItemResult[]> {
    const out: ItemResult[] = [];
    for (const name of names) {
      try {
        out.push({ name, ok: true, outcome: await this.remove(name, opts) });
      } catch (e) {
        if (!(e instanceof VmlanError)) throw e;
        out.push({ name, ok: false, error: e });
      }
    }
    return out;
  }

  /** Removes every network that is not built in and has no active attachment. */
  async prune(): Promise<string[]> {
    const removed: string[] = [];
    for (const n of this.store.listNetworks()) {
      if (n.builtin || this.store.countActive(n.name) > 0) continue;
      await this.remove(n.name, {});
      removed.push(n.name);
    }
    return removed;
  }

  /** Creates the built-in default network (192.168.64.0/24, shared) if it is absent. */
  async ensureDefault(): Promise<{ network: Network; outcome: CreateOutcome }> {
    const existing = this.store.getNetwork(DEFAULT_NETWORK.name);
    if (existing) return { network: existing, outcome: "unchanged" };
    return this.create({ ...DEFAULT_NETWORK, labels: { [LABEL_ROLE]: ROLE_BUILTIN } }, { builtin: true });
  }

  /** `system start`: default network, then every stored network's host side (all in one call where the platform can). */
  async startAll(): Promise<ItemResult[]> {
    const host = this.#host();
    host.checkPrivileges();
    const def = await this.ensureDefault();
    const fresh = def.outcome === "created" ? def.network.name : undefined; // create already brought it up
    return this.#eachNetwork("up", host.ensureNetworks?.bind(host), (s) => host.ensureNetwork(s), fresh);
  }

  /** `system stop`: take every network's host side down; definitions and leases stay stored. */
  async stopAll(): Promise<ItemResult[]> {
    const host = this.#host();
    host.checkPrivileges();
    return this.#eachNetwork("down", host.removeNetworks?.bind(host), (s) => host.removeNetwork(s));
  }

  /**
   * One result per stored network (`skip` needs nothing); one failure does not stop the rest. `many`
   * does them all in one call where the platform has it, else `one` runs per network.
   */
  async #eachNetwork(
    outcome: string, many: ((specs: HostNetworkSpec[]) => Promise<Array<Error | null>>) | undefined,
    one: (spec: HostNetworkSpec) => Promise<void>, skip?: string,
  ): Promise<ItemResult[]> {
    const nets = this.store.listNetworks();
    const todo = nets.filter((n) => n.name !== skip);
    const specs = todo.map((n) => this.spec(n));
    const errors: unknown[] = [];
    if (many) errors.push(...(await many(specs)));
    else for (const s of specs) errors.push(await one(s).then(() => null, (e: unknown) => e));
    const byName = new Map(todo.map((n, i) => [n.name, errors[i] ?? null]));
    return nets.map((n): ItemResult => {
      const e = byName.get(n.name) ?? null;
      if (e === null) return { name: n.name, ok: true, outcome };
      if (!(e instanceof VmlanError)) throw e;
      return { name: n.name, ok: false, error: e };
    });
  }

  async statusAll(): Promise<NetworkView[]> {
    const out: NetworkView[] = [];
    for (const n of this.store.listNetworks()) out.push(await this.inspect(n.name));
    return out;
  }
}
