/**
 * What an invocation needs around IPAM: the store (in the config's stateDir), the network (created
 * on first use when the config gives subnet/mode), and the host's container links. Concurrent ADDs
 * serialise creating or repairing a network on one lock per network; the common case (network
 * stored, bridge up) takes no lock and spawns nothing.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ContainerService } from "../core/containers.ts";
import { ConflictError } from "../core/errors.ts";
import { configDiff, hostSpec, parseRequest } from "../core/network-config.ts";
import { NetworkService } from "../core/networks.ts";
import type { Network } from "../core/resources/network.ts";
import { stateDir, storePath } from "../core/store/paths.ts";
import { Store } from "../core/store/store.ts";
import type { ContainerLinker } from "../platform/container.ts";
import type { Target } from "./config.ts";
import { CniError, ERR } from "./protocol.ts";

export interface Ctx { store: Store; containers: ContainerService; dir: string }

const dirOf = (t: Target) => t.stateDir ?? stateDir();

/** The store of the target, or null when it does not exist yet (DEL, GC and STATUS never create one). */
export function openCtx(t: Target, create: boolean): Ctx | null {
  const dir = dirOf(t);
  if (!create && !existsSync(storePath(dir))) return null;
  const store = new Store(storePath(dir));
  return { store, containers: new ContainerService(store), dir };
}

export async function linker(): Promise<ContainerLinker> {
  const { hostContainerLinker } = await import("../platform/index.ts");
  return hostContainerLinker();
}

/** The network, brought up (and created, when the config says how) if it is not; code 7 when it cannot be. */
export async function ensureNetwork(ctx: Ctx, t: Target, links: ContainerLinker | null): Promise<Network> {
  const stored = ctx.store.getNetwork(t.network);
  if (stored) checkSame(stored, t);
  if (stored && (!links || links.bridgeUp(stored.bridge, stored.name))) return stored;
  if (!stored && t.subnet === undefined && t.mode === undefined) {
    throw new CniError(ERR.INVALID_CONFIG, `vmlan network "${t.network}" does not exist`, `create it with \`vmlan network create ${t.network}\`, or give "subnet" (and "mode") in the config to create it on first use`);
  }
  if (!links) throw new CniError(ERR.INVALID_CONFIG, `vmlan network "${t.network}" does not exist; as IPAM, vmlan needs an existing network`);
  return links.withLock(join(ctx.dir, "locks", `network-${t.network}.lock`), async () => {
    const { hostPlatform } = await import("../platform/index.ts");
    const svc = new NetworkService(ctx.store, await hostPlatform());
    const again = ctx.store.getNetwork(t.network);
    if (again) {
      // Created meanwhile by another ADD, or stored but down (after a reboot): bring the host side up.
      if (!links.bridgeUp(again.bridge, again.name)) await svc.platform!.ensureNetwork(hostSpec(again));
      return again;
    }
    try {
      const { network } = await svc.create({ name: t.network, ...(t.subnet ? { subnet: t.subnet } : {}), ...(t.mode ? { mode: t.mode } : {}), labels: { "vmlan.created-by": "cni" } });
      await notify(ctx.dir);
      return network;
    } catch (e) {
      // `vmlan network create` outside our lock won the race: fine when it made the same network.
      const won = e instanceof ConflictError ? ctx.store.getNetwork(t.network) : null;
      if (!won) throw e;
      checkSame(won, t);
      return won;
    }
  });
}

/** A config that names a subnet or mode must agree with the stored network. */
function checkSame(n: Network, t: Target): void {
  if (t.subnet === undefined && t.mode === undefined) return;
  const req = parseRequest({ name: n.name, subnet: t.subnet, mode: t.mode ?? n.mode, mtu: n.mtu, labels: n.labels, dhcp: n.dhcp, dnsDomain: n.dnsDomain ?? undefined });
  const diff = configDiff(n, req);
  if (diff.length) throw new CniError(ERR.INVALID_CONFIG, `vmlan network "${n.name}" exists with another configuration (${diff.join("; ")})`);
}

/** Tells a running DHCP/DNS daemon about a new network (SIGHUP); no daemon is fine. */
async function notify(dir: string): Promise<void> {
  const { notifyServices } = await import("../services/control.ts");
  await notifyServices(dir).catch(() => {});
}
