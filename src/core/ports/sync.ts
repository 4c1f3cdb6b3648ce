/**
 * Bringing the kernel in line with the store: each network's share of the in-effect ports
 * (state.ts) is handed to the platform, under one lock, by whoever changed the store (port add/rm,
 * run and vm run, detach) and by the services daemon's reconcile (every 2 s, on SIGHUP, at start).
 * A marker file records what was last applied per network and onto which host side, so a sync
 * that would change nothing spawns nothing, and one after a host side was recreated applies again.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { hostSpec } from "../network-config.ts";
import type { Store } from "../store/store.ts";
import type { PortCarrier, PortPublisher } from "../../platform/types.ts";
import { portViews, publishes, rulesOf, type PortRule } from "./state.ts";

const MARKER = "ports-applied.json";
const LOCK = "ports.lock";

export interface Synced {
  network: string;
  /** the rules now in the kernel; none when the network is down */
  rules: PortRule[];
  /** false when the host side is down (nothing applied) */
  up: boolean;
  changed: boolean;
  /** what carries each of `rules` (same order): the daemon holds "kernel" ports and serves "proxy" ones */
  carriers: PortCarrier[];
}

function readMarkers(path: string): Record<string, string> {
  try {
    const o = JSON.parse(readFileSync(path, "utf8")) as unknown;
    return o && typeof o === "object" && !Array.isArray(o) ? (o as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function writeMarkers(path: string, markers: Record<string, string>): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(markers)}\n`, { mode: 0o600 });
  renameSync(tmp, path); // never half-written: a reader sees the old or the new file
}

/**
 * Syncs `networks` (every stored network when omitted). `force` applies even when the marker says
 * the kernel has it already (the daemon at start: anything may have happened while it was down).
 */
export function syncPorts(store: Store, host: PortPublisher, o: { networks?: string[]; force?: boolean; nowMs?: number } = {}): Promise<Synced[]> {
  // One sync at a time in this process too: flock(2) is per open file, so a second sync here (two
  // VMs starting at once) would block the only thread on the first one's lock, forever.
  const run = inProcess.then(() => syncLocked(store, host, o));
  inProcess = run.catch(() => {});
  return run;
}

let inProcess: Promise<unknown> = Promise.resolve();

async function syncLocked(store: Store, host: PortPublisher, o: { networks?: string[]; force?: boolean; nowMs?: number }): Promise<Synced[]> {
  const dir = dirname(store.path);
  return host.withLock(join(dir, LOCK), async () => {
    const views = portViews(store, o.nowMs ?? Date.now());
    const stored = store.listNetworks();
    // Networks that cannot publish (bridged) have no ports, and no table to put them in.
    const wanted = (o.networks ? stored.filter((n) => o.networks!.includes(n.name)) : stored).filter(publishes);
    const markerPath = join(dir, MARKER);
    const markers = readMarkers(markerPath);
    const out: Synced[] = [];
    let dirty = false;
    for (const net of wanted) {
      const spec = hostSpec(net);
      const rules = rulesOf(views, net.name);
      const instance = host.instance(spec);
      if (instance === null) {
        if (markers[net.name] !== undefined) { delete markers[net.name]; dirty = true; }
        out.push({ network: net.name, rules: [], up: false, changed: false, carriers: [] });
        continue;
      }
      const key = `${instance} ${JSON.stringify(rules)}`;
      // No rules and no marker: this network never had ports applied (its table has no port chains).
      const never = rules.length === 0 && markers[net.name] === undefined;
      const changed = !never && (o.force || markers[net.name] !== key);
      if (changed) {
        await host.syncPorts(spec, rules);
        markers[net.name] = key;
        dirty = true;
      }
      const carriers = rules.map((r) => host.carrier?.(r, spec.mode) ?? "kernel");
      out.push({ network: net.name, rules, up: true, changed, carriers });
    }
    for (const name of Object.keys(markers)) {
      if (!stored.some((n) => n.name === name)) { delete markers[name]; dirty = true; } // removed networks
    }
    if (dirty) writeMarkers(markerPath, markers);
    return out;
  });
}
