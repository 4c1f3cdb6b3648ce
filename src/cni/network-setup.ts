/**
 * The slow path of cni/network.ts, loaded only when it runs: a config whose subnet/mode must match
 * the stored network, and creating or repairing a network under the per-network lock.
 */
import { join } from "node:path";
import { ConflictError } from "../core/errors.ts";
import { configDiff, hostSpec, parseRequest } from "../core/network-config.ts";
import { NetworkService } from "../core/networks.ts";
import type { Network } from "../core/resources/network.ts";
import type { ContainerLinker } from "../platform/container.ts";
import type { Target } from "./config.ts";
import type { Ctx } from "./network.ts";
import { CniError, ERR } from "./protocol.ts";

/** A config that names a subnet or mode must agree with the stored network. */
export function checkSame(n: Network, t: Target): void {
  if (t.subnet === undefined && t.mode === undefined) return;
  const req = parseRequest({ name: n.name, subnet: t.subnet, mode: t.mode ?? n.mode, mtu: n.mtu, labels: n.labels, dhcp: n.dhcp, dnsDomain: n.dnsDomain ?? undefined });
  const diff = configDiff(n, req);
  if (diff.length) throw new CniError(ERR.INVALID_CONFIG, `vmlan network "${n.name}" exists with another configuration (${diff.join("; ")})`);
}

/** Creates the network (or brings a stored one up) holding the network's lock, so concurrent ADDs do it once. */
export async function setUpNetwork(ctx: Ctx, t: Target, links: ContainerLinker): Promise<Network> {
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

/** Tells a running DHCP/DNS daemon about a new network (SIGHUP); no daemon is fine. */
async function notify(dir: string): Promise<void> {
  const { notifyServices } = await import("../services/control.ts");
  await notifyServices(dir).catch(() => {});
}
