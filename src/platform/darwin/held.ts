/**
 * The vmnet networks this process holds (macOS 26), by vmlan network name, and vmnet errors turned
 * into vmlan's typed errors.
 *
 * Ownership: a vmnet_network_ref reserves its subnet only while it lives, and it lives no longer
 * than the process that created it. So "ensureNetwork" means different things per process:
 *   - a one-shot CLI (`vmlan network create`, `vmlan system start`): vmnet accepts the spec (subnet
 *     free, entitlement present) and the reservation ends when the command exits;
 *   - `vmlan helper` without a broker: it creates the network for its own VM and holds it until it exits
 *     (a second such helper on the same network is refused by vmnet as an overlap: use the broker);
 *   - `vmlan broker`: it holds the ref from the first acquire to the idle teardown, starts every
 *     interface on it and hands each VM a datagram fd (docs/macos.md).
 */
import { ConflictError, PermissionError } from "../../core/errors.ts";
import { VMNET_MEM_FAILURE, VMNET_NOT_AUTHORIZED, VMNET_SHARING_SERVICE_BUSY } from "../../../ffi/vmnet/constants.ts";
import type { HostNetworkSpec } from "../types.ts";
import { VmnetNetwork } from "./network.ts";
import { VmnetError } from "./vmnet-interface.ts";

const ENTITLEMENT_FIX = "sign the executable with shims/entitlements.plist (com.apple.security.virtualization; scripts/build.ts does it on a Mac)";

/** VmnetError → PermissionError / ConflictError where vmnet's status says so; other errors unchanged. */
export function explain(e: unknown, what: string): unknown {
  if (!(e instanceof VmnetError)) return e;
  if (e.status === VMNET_SHARING_SERVICE_BUSY) {
    return new ConflictError(`${what}: the subnet is in use by another vmnet network or sharing service (Internet Sharing, another VM tool, or another process holding this network: share it through \`vmlan broker\`)`, { cause: e, details: { status: e.status } });
  }
  if (e.status === VMNET_NOT_AUTHORIZED || e.status === VMNET_MEM_FAILURE) {
    // Without the entitlement vmnet_network_create reports VMNET_MEM_FAILURE, not NOT_AUTHORIZED (native-facts §A 5.1).
    return new PermissionError(`${what}: vmnet refused (${e.message}); ${ENTITLEMENT_FIX}, or run as root`, { cause: e, details: { status: e.status } });
  }
  return e;
}

const key = (s: HostNetworkSpec) => JSON.stringify([s.mode, s.subnet, s.gateway, s.subnetV6, s.gatewayV6, s.mtu]);

interface Held { net: VmnetNetwork; key: string; bridge: string }

/** One per process: networks created here and not yet released. */
export class HeldNetworks {
  readonly #nets = new Map<string, Held>();

  get(name: string): VmnetNetwork | null {
    return this.#nets.get(name)?.net ?? null;
  }

  /** Keeps a held network with the same spec; recreates one whose spec changed. */
  ensure(spec: HostNetworkSpec): VmnetNetwork {
    const h = this.#nets.get(spec.name);
    if (h && h.key === key(spec)) return h.net;
    if (h) this.release(spec.name);
    let net: VmnetNetwork;
    try {
      net = VmnetNetwork.create(spec);
    } catch (e) {
      throw explain(e, `vmnet network ${spec.name} (${spec.subnet})`);
    }
    this.#nets.set(spec.name, { net, key: key(spec), bridge: spec.bridge });
    return net;
  }

  /** Drops this process's reference; started interfaces keep the network alive until they stop. */
  release(name: string): boolean {
    const h = this.#nets.get(name);
    if (!h) return false;
    this.#nets.delete(name);
    h.net.release();
    return true;
  }

  /** Name of the held network on `bridge`, if any (its own subnet is not a conflict). */
  byBridge(bridge: string): string | null {
    for (const [name, h] of this.#nets) if (h.bridge === bridge) return name;
    return null;
  }
}
