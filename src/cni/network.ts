/**
 * What an invocation needs around IPAM: the store (in the config's stateDir), the network (created
 * on first use when the config gives subnet/mode), and the host's container links. Concurrent ADDs
 * serialise creating or repairing a network on one lock per network; the common case (network
 * stored, bridge up) takes no lock and spawns nothing.
 */
import { existsSync } from "node:fs";
import { ContainerService } from "../core/containers.ts";
import type { Network } from "../core/resources/network.ts";
import { stateDir, storePath } from "../core/store/paths.ts";
import { Store } from "../core/store/store.ts";
import type { ContainerLinker } from "../platform/container.ts";
import type { Target } from "./config.ts";
import { CniError, ERR } from "./protocol.ts";

export interface Ctx { store: Store; containers: ContainerService; dir: string }

const dirOf = (t: Target) => t.stateDir ?? stateDir();

/** In the services daemon (cni/serve.ts): its own open store, used for calls on its state dir. */
let resident: Store | null = null;
/** Stores opened for other paths while serving, closed after each call (closeOpened). */
const opened: Store[] = [];

export function useResidentStore(s: Store | null): void {
  resident = s;
}

export function closeOpened(): void {
  for (const s of opened.splice(0)) s.close();
}

/** The store of the target, or null when it does not exist yet (DEL, GC and STATUS never create one). */
export function openCtx(t: Target, create: boolean): Ctx | null {
  const dir = dirOf(t);
  const path = storePath(dir);
  if (resident?.path === path) return { store: resident, containers: new ContainerService(resident), dir };
  if (!create && !existsSync(path)) return null;
  const store = new Store(path);
  if (resident) opened.push(store);
  return { store, containers: new ContainerService(store), dir };
}

export async function linker(): Promise<ContainerLinker> {
  const { hostContainerLinker } = await import("../platform/index.ts");
  return hostContainerLinker();
}

/**
 * The network, brought up (and created, when the config says how) if it is not; code 7 when it
 * cannot be. The common case (stored, up, no subnet/mode to compare) loads nothing more.
 */
export async function ensureNetwork(ctx: Ctx, t: Target, links: ContainerLinker | null): Promise<Network> {
  const stored = ctx.store.getNetwork(t.network);
  const setup = () => import("./network-setup.ts");
  if (stored && (t.subnet !== undefined || t.mode !== undefined)) (await setup()).checkSame(stored, t);
  if (stored && (!links || links.bridgeUp(stored.bridge, stored.name))) return stored;
  if (!stored && t.subnet === undefined && t.mode === undefined) {
    throw new CniError(ERR.INVALID_CONFIG, `vmlan network "${t.network}" does not exist`, `create it with \`vmlan network create ${t.network}\`, or give "subnet" (and "mode") in the config to create it on first use`);
  }
  if (!links) throw new CniError(ERR.INVALID_CONFIG, `vmlan network "${t.network}" does not exist; as IPAM, vmlan needs an existing network`);
  return (await setup()).setUpNetwork(ctx, t, links);
}
