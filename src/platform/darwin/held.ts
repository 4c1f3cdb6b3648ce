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
 *   - `vmlan broker`: it holds the ref from the first acquire to the idle teardown and hands its
 *     serialization to XPC clients, which recreate the network and hold their own copy (docs/macos.md);
 *   - any other process with a broker running gets its networks from the broker (xpc-client.ts),
 *     so several VMs and helpers share one network without overlaps.
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

/** `base`: held by ensureNetwork until removeNetwork; `ports`: vmnet ports running on it here. */
interface Held { net: VmnetNetwork; key: string; bridge: string; base: boolean; ports: number }

/** One per process: networks this process holds and has not released. */
export class HeldNetworks {
  readonly #nets = new Map<string, Held>();

  /** `open`: where a network comes from (an XPC broker, or vmnet_network_create here); default: here. */
  constructor(readonly open: (spec: HostNetworkSpec) => VmnetNetwork = (spec) => VmnetNetwork.create(spec)) {}

  get(name: string): VmnetNetwork | null {
    return this.#nets.get(name)?.net ?? null;
  }

  #hold(spec: HostNetworkSpec): Held {
    const h = this.#nets.get(spec.name);
    if (h && h.key === key(spec)) return h;
    if (h) this.#drop(spec.name, h);
    let net: VmnetNetwork;
    try {
      net = this.open(spec);
    } catch (e) {
      throw explain(e, `vmnet network ${spec.name} (${spec.subnet})`);
    }
    const held = { net, key: key(spec), bridge: spec.bridge, base: false, ports: 0 };
    this.#nets.set(spec.name, held);
    return held;
  }

  /** The network's hold until release(); keeps a held network with the same spec, recreates a changed one. */
  ensure(spec: HostNetworkSpec): VmnetNetwork {
    const h = this.#hold(spec);
    h.base = true;
    return h.net;
  }

  /**
   * A port's hold, for as long as its interface runs (Apple does not document that a started
   * interface keeps the reservation, so the network is never released under a running port).
   * Returns the network and the function that gives the hold back.
   */
  portHold(spec: HostNetworkSpec): { net: VmnetNetwork; done: () => void } {
    const h = this.#hold(spec);
    h.ports++;
    let given = false;
    return {
      net: h.net,
      done: () => {
        if (given) return;
        given = true;
        h.ports--;
        if (h.ports === 0 && !h.base && this.#nets.get(spec.name) === h) this.#drop(spec.name, h);
      },
    };
  }

  /** Drops ensure()'s hold; the network goes when no port of this process runs on it. */
  release(name: string): boolean {
    const h = this.#nets.get(name);
    if (!h || !h.base) return false;
    h.base = false;
    if (h.ports === 0) this.#drop(name, h);
    return true;
  }

  #drop(name: string, h: Held): void {
    this.#nets.delete(name);
    h.net.release();
  }

  /** Name of the held network on `bridge`, if any (its own subnet is not a conflict). */
  byBridge(bridge: string): string | null {
    for (const [name, h] of this.#nets) if (h.bridge === bridge) return name;
    return null;
  }
}
