/**
 * Which vmlan network a vmnet-helper command line means (vmnet-helper docs/integration.md, "Operation
 * modes" and "Network address options", read for the facts):
 * - `--network NAME`: the stored network NAME; the names vmnet-broker clients use, `shared` and
 *   `host`, are the built-in networks when no network has that name.
 * - no address options: the built-in `default` (shared) or `host` (host-only) network.
 * - `--start-address/--end-address/--subnet-mask`: the network whose gateway is the start address,
 *   with that mask, handing out start + 1 .. end, as vmnet's DHCP does. An existing network with
 *   exactly that addressing is used; otherwise `vmnet-<subnet>-<prefix>` is created, labelled as made
 *   for compatibility.
 */
import { ConflictError, NotFoundError, UsageError } from "../errors.ts";
import type { NetworkService } from "../networks.ts";
import type { Network, NetworkRequest } from "../resources/network.ts";
import { DEFAULT_NETWORK } from "../resources/network.ts";
import { LABEL_ROLE, ROLE_BUILTIN } from "../resources/labels.ts";
import { intToV4, maskV4, v4ToInt } from "../ipam/subnet.ts";
import { poolOf } from "../ipam/addressing.ts";

/** The label on networks vmlan made for a vmnet-helper command line. */
export const COMPAT_LABEL_KEY = "vmlan.compat";
export const COMPAT_LABEL_VALUE = "vmnet-helper";
/** The built-in host-only network; vmnet's default host-mode subnet when it is free. */
export const HOST_NETWORK = { name: "host", mode: "host" as const, subnet: "192.168.128.0/24" };

export type VmnetMode = "shared" | "host";
export interface VmnetRange { start: string; end: string; mask: string }
/** `dhcp` and `subnetV6` apply to a range network created here (socket_vmnet's --vmnet-disable-dhcp, --vmnet-nat66-prefix). */
export interface VmnetChoice { network?: string; mode: VmnetMode; range?: VmnetRange; dhcp?: boolean; subnetV6?: string }

/** RFC 1918 blocks; vmnet accepts only these for its address options. */
const PRIVATE: Array<[string, number]> = [["10.0.0.0", 8], ["172.16.0.0", 12], ["192.168.0.0", 16]];
const isPrivate = (n: number) => PRIVATE.some(([base, len]) => Math.floor(n / 2 ** (32 - len)) === Math.floor(v4ToInt(base) / 2 ** (32 - len)));

function prefixOf(mask: string): number {
  const m = v4ToInt(mask);
  const prefix = 32 - Math.log2((~m >>> 0) + 1);
  if (!Number.isInteger(prefix) || v4ToInt(maskV4(prefix)) !== m) throw new UsageError(`invalid --subnet-mask "${mask}": the mask's one bits must be contiguous, like 255.255.255.0`);
  if (prefix < 8 || prefix > 30) throw new UsageError(`--subnet-mask ${mask} is a /${prefix}; vmlan networks are /8 to /30`);
  return prefix;
}

/** The create request for vmnet's address options (dotted quads); throws UsageError naming the value. */
export function rangeRequest(mode: VmnetMode, r: VmnetRange): Required<Pick<NetworkRequest, "name" | "mode" | "subnet" | "gateway" | "poolStart" | "poolEnd" | "labels">> {
  const prefix = prefixOf(r.mask);
  const size = 2 ** (32 - prefix);
  const start = v4ToInt(r.start);
  const end = v4ToInt(r.end);
  for (const [flag, n, text] of [["--start-address", start, r.start], ["--end-address", end, r.end]] as const) {
    if (!isPrivate(n)) throw new UsageError(`${flag} ${text} is not a private address: vmnet takes only RFC 1918 ranges (10/8, 172.16/12, 192.168/16)`);
  }
  const base = Math.floor(start / size) * size;
  const subnet = `${intToV4(base)}/${prefix}`;
  if (start === base) throw new UsageError(`--start-address ${r.start} is the network address of ${subnet}; the start address is the gateway`);
  if (Math.floor(end / size) * size !== base) throw new UsageError(`--end-address ${r.end} is not in ${subnet}, the subnet of --start-address ${r.start} and --subnet-mask ${r.mask}`);
  if (end <= start) throw new UsageError(`--end-address ${r.end} must come after --start-address ${r.start}: the guests get start + 1 to end`);
  if (end === base + size - 1) throw new UsageError(`--end-address ${r.end} is the broadcast address of ${subnet}`);
  return {
    name: `vmnet-${intToV4(base)}-${prefix}`, mode, subnet, gateway: r.start, poolStart: intToV4(start + 1), poolEnd: r.end,
    labels: { [COMPAT_LABEL_KEY]: COMPAT_LABEL_VALUE },
  };
}

/** A stored network with exactly this addressing and mode (pool included), whatever its name. */
function sameAddressing(networks: Network[], req: ReturnType<typeof rangeRequest>): Network | undefined {
  const want = poolOf({ subnet: req.subnet, gateway: req.gateway, poolStart: req.poolStart, poolEnd: req.poolEnd });
  return networks.find((n) => {
    if (n.subnet !== req.subnet || n.mode !== req.mode) return false;
    const have = poolOf(n);
    return have.gateway === want.gateway && have.first === want.first && have.last === want.last;
  });
}

async function ensureHostNetwork(svc: NetworkService): Promise<{ network: Network; created: boolean }> {
  const existing = svc.store.getNetwork(HOST_NETWORK.name);
  if (existing) {
    if (existing.mode !== "host") throw new UsageError(`network "${HOST_NETWORK.name}" exists in ${existing.mode} mode; host mode needs a host-only network of that name`);
    return { network: existing, created: false };
  }
  const labels = { [LABEL_ROLE]: ROLE_BUILTIN };
  try {
    return { network: (await svc.create({ ...HOST_NETWORK, labels }, { builtin: true })).network, created: true };
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
    // vmnet's subnet is taken (by a network or a host route): the next free one, as vmnet does.
    const again = svc.store.getNetwork(HOST_NETWORK.name);
    if (again) return { network: again, created: false };
    return { network: (await svc.create({ name: HOST_NETWORK.name, mode: "host", labels }, { builtin: true })).network, created: true };
  }
}

async function ensureDefaultNetwork(svc: NetworkService): Promise<{ network: Network; created: boolean }> {
  const r = await svc.ensureDefault();
  return { network: r.network, created: r.outcome === "created" };
}

/** The network a vmnet-helper command line means, created when it is one of vmlan's to create. */
export async function vmnetNetwork(svc: NetworkService, c: VmnetChoice): Promise<{ network: Network; created: boolean }> {
  if (c.network !== undefined) {
    const stored = svc.store.getNetwork(c.network);
    if (stored) return { network: stored, created: false };
    if (c.network === "shared" || c.network === DEFAULT_NETWORK.name) return ensureDefaultNetwork(svc);
    if (c.network === HOST_NETWORK.name) return ensureHostNetwork(svc);
    throw new NotFoundError(`no network named "${c.network}"`);
  }
  if (!c.range) return c.mode === "host" ? ensureHostNetwork(svc) : ensureDefaultNetwork(svc);
  const req = { ...rangeRequest(c.mode, c.range), ...(c.dhcp === false ? { dhcp: false } : {}), ...(c.subnetV6 ? { subnetV6: c.subnetV6 } : {}) };
  for (let attempt = 0; ; attempt++) {
    const match = sameAddressing(svc.store.listNetworks(), req);
    if (match) return { network: match, created: false };
    try {
      return { network: (await svc.create(req)).network, created: true };
    } catch (e) {
      // Two helpers creating the same network at once: the loser uses the winner's.
      if (!(e instanceof ConflictError) || attempt > 0 || !svc.store.getNetwork(req.name)) throw e;
    }
  }
}
