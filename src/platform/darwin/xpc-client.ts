/**
 * macOS 26 networks from an XPC broker, as vmnet-helper --network gets them from vmnet-broker: one
 * connection to the Mach service for this process's life (the broker holds what a connection
 * acquired until it closes), `acquire` by name, and the network recreated in this process from the
 * serialization (vmnet_network_create_with_serialization, in the shim), so a VM here can attach to it
 * natively and a vmnet interface can start on it. The broker is vmlan's own (dev.vmlan.broker) unless
 * VMLAN_VMNET_BROKER names another service, e.g. vmnet-broker's com.github.nirs.vmnet-broker
 * ("none" turns brokers off). No broker answering means: create the network here, as before.
 */
import type { Pointer } from "bun:ffi";
import { vmnetXpc } from "../../../ffi/vmnet/xpc.ts";
import { HostError, NotFoundError, PermissionError, UsageError } from "../../core/errors.ts";
import type { HostNetworkSpec } from "../types.ts";
import { VmnetNetwork } from "./network.ts";
import { asPointer, VmnetError } from "./vmnet-interface.ts";
import { VMLAN_MACH_SERVICE } from "../../core/resources/mach-services.ts";

/** vmnet-broker's builtin NAT network: what vmlan's `default` is called there. */
export const VMNET_BROKER_SHARED = "shared";

/** The service clients ask, or null when brokers are off. */
export function brokerService(env: Record<string, string | undefined> = process.env): string | null {
  const v = env.VMLAN_VMNET_BROKER;
  if (v === undefined) return VMLAN_MACH_SERVICE;
  return v === "" || v === "none" ? null : v;
}

const clients = new Map<string, Pointer>();
function client(service: string): Pointer {
  let c = clients.get(service);
  if (!c) {
    c = asPointer(vmnetXpc().vmlan_xpc_connect(Buffer.from(`${service}\0`))) ?? undefined;
    if (!c) throw new HostError(`cannot connect to the Mach service "${service}"`);
    clients.set(service, c);
  }
  return c;
}

type Acquired = { net: VmnetNetwork } | { broker: number; message: string };

function acquireRaw(service: string, name: string): Acquired {
  const broker = new Int32Array(1);
  const vmnet = new Uint32Array(1);
  const msg = new Uint8Array(512);
  const ref = asPointer(vmnetXpc().vmlan_xpc_acquire(client(service), Buffer.from(`${name}\0`), broker, vmnet, msg, msg.length));
  if (ref) return { net: VmnetNetwork.adopt(ref) };
  if (broker[0] === 0) throw new VmnetError(`vmnet_network_create_with_serialization (${name} from ${service})`, vmnet[0]!);
  const end = msg.indexOf(0);
  return { broker: broker[0]!, message: new TextDecoder().decode(msg.subarray(0, end < 0 ? msg.length : end)) };
}

/**
 * The network `spec` names, from the broker at `service`: null when no broker answers there. Asks
 * for vmlan's name; `default` is also tried as vmnet-broker's `shared`. The subnet must be the one
 * vmlan's addresses are planned in.
 */
export function acquireFromBroker(service: string, spec: HostNetworkSpec): VmnetNetwork | null {
  let got = acquireRaw(service, spec.name);
  if ("broker" in got && got.broker === 5 && spec.name === "default") got = acquireRaw(service, VMNET_BROKER_SHARED);
  if ("net" in got) {
    const subnet = got.net.info().subnet;
    if (subnet === spec.subnet) return got.net;
    got.net.release();
    throw new UsageError(`the broker at ${service} gave network ${spec.name} the subnet ${subnet}, but vmlan's network ${spec.name} is ${spec.subnet}: recreate it with --subnet ${subnet}, or use vmlan's broker`, { details: { service, subnet } });
  }
  const why = got.message ? `: ${got.message}` : "";
  switch (got.broker) {
    case 1: return null; // nobody serves the name (not advertised by launchd, or the broker is gone)
    case 3: throw new PermissionError(`the broker at ${service} refused network ${spec.name}${why}`);
    case 5: throw new NotFoundError(`the broker at ${service} has no network "${spec.name}"${why}`);
    default: throw new HostError(`the broker at ${service} could not give network ${spec.name} (vmnet-broker status ${got.broker})${why}`, { details: { status: got.broker } });
  }
}
