/**
 * vmlan as the main plugin (`type: vmlan`): a veth from the container to the network's bridge,
 * address, MAC and routes from vmlan's IPAM. ADD = network (create on first use) → lease (one
 * store transaction, recorded as the container's) → veth; a failure after the lease releases it.
 * A killed ADD leaves a lease record, so GC (or DEL) finds the lease and its veth by their names.
 */
import { attachmentIdFor, hostAliasFor, hostIfnameFor } from "../core/containers.ts";
import { gc, status } from "./lifecycle.ts";
import { type Invocation, keyOf, leaseResult, prevResultOf } from "./invocation.ts";
import { ensureNetwork, linker, openCtx } from "./network.ts";
import { CniError, ERR, escape } from "./protocol.ts";
import { requested, wantedName } from "./config.ts";
import { mergeResult, type Result } from "./result.ts";
import { checkLink } from "./check.ts";
import { portIdentity, staticSpace } from "../core/port-follow.ts";

function names(inv: Invocation) {
  const id = attachmentIdFor(keyOf(inv));
  return { id, hostIfname: hostIfnameFor(inv.target.network, id), alias: hostAliasFor(inv.target.network, id) };
}

export async function mainAdd(inv: Invocation): Promise<Result> {
  const links = await linker();
  const kind = links.netnsKind(inv.env.netns);
  if (kind === "own") throw new CniError(ERR.INVALID_NETNS, "plugin's netns and netns from CNI_NETNS should not be the same");
  if (kind !== "other") throw new CniError(ERR.INVALID_NETNS, `CNI_NETNS "${escape(inv.env.netns)}" is not a network namespace: ${escape(kind.problem)}`);
  const ctx = openCtx(inv.target, true)!;
  const net = await ensureNetwork(ctx, inv.target, links);
  const { hostIfname, alias } = names(inv);
  const { attachment: a } = ctx.containers.attach(net.name, keyOf(inv), {
    role: "main", name: wantedName(inv.env.args), ...requested(inv.conf, inv.env.args), netns: inv.env.netns, hostIfname,
    allowSpoofing: inv.target.allowSpoofing === true,
  });
  // The container's MAC is vmlan's (pinned): another source MAC, or an address not its lease's, never gets in.
  const identity = portIdentity(a, { pinned: true, allowSpoofing: a.allowSpoofing, staticSpace: staticSpace(net) });
  const lease = leaseResult(net, a, 1);
  let made: { hostMac: string; routes: Result["routes"] };
  try {
    made = links.addContainerLink({
      netns: inv.env.netns, ifname: inv.env.ifname, hostIfname, alias, bridge: net.bridge, mac: a.mac, mtu: net.mtu,
      addresses: lease.ips.map((ip) => ip.address), routes: lease.routes ?? [], identity,
    });
  } catch (e) {
    ctx.containers.release(net.name, keyOf(inv));
    throw e;
  }
  const ours: Result = {
    ...lease,
    routes: made.routes,
    interfaces: [{ name: hostIfname, mac: made.hostMac }, { name: inv.env.ifname, mac: a.mac, mtu: net.mtu, sandbox: inv.env.netns }],
  };
  return mergeResult(prevResultOf(inv, false), ours);
}

/** Best effort and idempotent (SPEC.md §2 DEL): an unknown container, network or namespace is success. */
export async function mainDel(inv: Invocation): Promise<void> {
  const ctx = openCtx(inv.target, false);
  const net = ctx?.store.getNetwork(inv.target.network);
  if (!ctx || !net) return;
  const { hostIfname, alias } = names(inv);
  // The store knows the port's rules (none, or pinned to the lease's MAC): removed without listing them.
  const port = ctx.containers.portOf(net.name, keyOf(inv));
  (await linker()).removeContainerLink({ hostIfname, alias, bridge: net.bridge, ...(port ? { pinned: port.pinned } : {}) });
  ctx.containers.release(inv.target.network, keyOf(inv));
}

export async function mainCheck(inv: Invocation): Promise<void> {
  const prev = prevResultOf(inv, true)!;
  const ctx = openCtx(inv.target, false);
  const held = ctx?.containers.get(inv.target.network, keyOf(inv));
  if (!ctx || !held) throw new CniError(ERR.UNKNOWN_CONTAINER, `vmlan holds no attachment for container ${inv.env.containerId} (${inv.env.ifname}) on "${inv.target.network}"`);
  const net = ctx.store.getNetwork(inv.target.network)!;
  checkLink(await linker(), inv, net, held.attachment, prev, names(inv));
}

export const mainGc = async (inv: Invocation) => gc(inv, await linker());
export const mainStatus = async (inv: Invocation) => status(inv, await linker());
