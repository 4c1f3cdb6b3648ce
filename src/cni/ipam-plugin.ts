/**
 * vmlan as the IPAM plugin of another plugin (bridge on vl-NAME, macvlan, ipvlan): the address,
 * routes and DNS from vmlan's sticky IPAM, as the abbreviated result (no interfaces, SPEC.md §5).
 * The network must exist: the calling plugin has made its links before it asks for an address.
 */
import { ensureNetwork, openCtx } from "./network.ts";
import { type Invocation, keyOf, leaseResult, prevResultOf } from "./invocation.ts";
import { CniError, ERR } from "./protocol.ts";
import { requested, wantedName } from "./config.ts";
import type { Result } from "./result.ts";
import { gc, status } from "./lifecycle.ts";

export async function ipamAdd(inv: Invocation): Promise<Result> {
  const ctx = openCtx(inv.target, true)!;
  const net = await ensureNetwork(ctx, inv.target, null);
  const { attachment } = ctx.containers.attach(net.name, keyOf(inv), {
    role: "ipam", name: wantedName(inv.env.args), ...requested(inv.conf, inv.env.args), netns: inv.env.netns || null, hostIfname: null,
  });
  return leaseResult(net, attachment);
}

export async function ipamDel(inv: Invocation): Promise<void> {
  openCtx(inv.target, false)?.containers.release(inv.target.network, keyOf(inv));
}

/** The reservation exists and is the address the runtime recorded. */
export async function ipamCheck(inv: Invocation): Promise<void> {
  const prev = prevResultOf(inv, true)!;
  const held = openCtx(inv.target, false)?.containers.get(inv.target.network, keyOf(inv));
  if (!held) throw new CniError(ERR.UNKNOWN_CONTAINER, `vmlan holds no address for container ${inv.env.containerId} (${inv.env.ifname}) on "${inv.target.network}"`);
  const want = `${held.attachment.address}/${held.attachment.prefixLength}`;
  if (!prev.ips.some((ip) => ip.address === want)) {
    throw new CniError(ERR.INVALID_CONFIG, `vmlan reserved ${want} for container ${inv.env.containerId}, which prevResult does not list`);
  }
}

export const ipamGc = (inv: Invocation) => gc(inv, null);
export const ipamStatus = (inv: Invocation) => status(inv, null);
