/**
 * GC and STATUS for both roles. GC releases the attachments of containers the runtime no longer
 * lists in `cni.dev/valid-attachments` (and, as the main plugin, deletes their veths and sweeps the
 * anti-spoofing rules of veths that are gone); it tries every one and reports the failures together. STATUS: 0 when an ADD would succeed, else code 50.
 */
import { hostAliasFor } from "../core/containers.ts";
import { parseSubnetV4 } from "../core/ipam/subnet.ts";
import type { ContainerLinker } from "../platform/container.ts";
import { type Invocation } from "./invocation.ts";
import { openCtx } from "./network.ts";
import { CniError, ERR } from "./protocol.ts";

export async function gc(inv: Invocation, links: ContainerLinker | null): Promise<void> {
  const valid = inv.conf["cni.dev/valid-attachments"];
  if (!valid) throw new CniError(ERR.INVALID_CONFIG, `GC needs "cni.dev/valid-attachments" (an empty list releases every container of the network)`);
  const ctx = openCtx(inv.target, false);
  if (!ctx) return;
  const bridge = ctx.store.getNetwork(inv.target.network)?.bridge ?? "";
  const stale = ctx.containers.stale(inv.target.network, valid.map((a) => ({ containerId: a.containerID, ifname: a.ifname })), inv.target.role);
  const failed: string[] = [];
  for (const c of stale) {
    try {
      if (links && c.hostIfname) links.removeContainerLink({ hostIfname: c.hostIfname, alias: hostAliasFor(c.network, c.id), bridge });
      ctx.containers.release(c.network, { containerId: c.containerId, ifname: c.ifname });
    } catch (e) {
      failed.push(`${c.containerId}/${c.ifname}: ${(e as Error).message}`);
    }
  }
  if (links && bridge) {
    try {
      links.sweepGuards(bridge);
    } catch {} // hygiene only: the next ADD and the services daemon sweep again
  }
  if (failed.length) throw new CniError(ERR.INTERNAL, `GC could not clean ${failed.length} of ${stale.length} attachment(s)`, failed.join("; "));
}

export async function status(inv: Invocation, links: ContainerLinker | null): Promise<void> {
  const t = inv.target;
  const canCreate = t.role === "main" && (t.subnet !== undefined || t.mode !== undefined);
  const ctx = openCtx(t, false);
  const net = ctx?.store.getNetwork(t.network) ?? null;
  if (!net) {
    if (canCreate) return; // ADD creates it
    throw new CniError(ERR.NOT_AVAILABLE, `vmlan network "${t.network}" does not exist`);
  }
  if (links && !links.bridgeUp(net.bridge, net.name)) {
    if (canCreate) return; // ADD brings it up again
    throw new CniError(ERR.NOT_AVAILABLE, `vmlan network "${t.network}" is down (bridge ${net.bridge} missing or down); run vmlan system start`);
  }
  const s = parseSubnetV4(net.subnet);
  const pool = s.size - 3; // network, gateway and broadcast addresses are never handed out
  if (ctx!.store.countActive(net.name) >= pool) throw new CniError(ERR.NOT_AVAILABLE, `vmlan network "${t.network}" has no free address (${pool} attached)`);
}
