/**
 * A started vmnet interface: the safe wrapper around the trampolines (ffi/vmnet; shims/vmnet-trampolines.c).
 * Start and stop are synchronous here because the shim waits on a dispatch semaphore for vmnet's
 * completion block (native-facts C.1.3); the event callback becomes a pipe fd that the forwarding
 * loop polls (no JS runs on vmnet's dispatch threads, native-facts D.1d).
 */
import { type Pointer } from "bun:ffi";
import { vmnetShim } from "../../../ffi/vmnet/load.ts";
import {
  START_CHECKSUM_OFFLOAD, START_ISOLATION, START_TSO, VMNET_BRIDGED_MODE, VMNET_HOST_MODE, VMNET_LEGACY_MAX_PACKETS,
  VMNET_RETURN_NAMES, VMNET_SHARED_MODE, VMNET_SUCCESS,
} from "../../../ffi/vmnet/constants.ts";
import { HostError, UsageError } from "../../core/errors.ts";
import type { VmnetForward } from "./ports.ts";

/** The JSON line vmnet-helper prints; 4 KiB holds the ~400 bytes macOS 26 returns with room to spare. */
const JSON_CAP = 4096;

export class VmnetError extends HostError {
  readonly status: number;
  constructor(call: string, status: number) {
    super(`${call}: ${VMNET_RETURN_NAMES[status] ?? "unknown vmnet status"} (${status})`, { code: "EVMNET", details: { status } });
    this.status = status;
  }
}

/** bun:ffi types pointer returns as Pointer | bigint | null; vmlan's pointers are numbers (< 2^53). */
export function asPointer(p: Pointer | bigint | null): Pointer | null {
  return p === null ? null : (Number(p) as Pointer) || null;
}

export type VmnetMode = "host" | "shared" | "bridged";
const MODES: Record<VmnetMode, number> = { host: VMNET_HOST_MODE, shared: VMNET_SHARED_MODE, bridged: VMNET_BRIDGED_MODE };

export interface StartOptions {
  mode: VmnetMode;
  /** Interface id (UUID); the same id gives back the same MAC (vmnet_interface_id_key). */
  interfaceId?: string;
  /** DHCP range and mask (macOS 10.15+); all three or none. */
  range?: { start: string; end: string; mask: string };
  /** Host interface for bridged mode. */
  sharedInterface?: string;
  isolation?: boolean;
  tso?: boolean;
  checksumOffload?: boolean;
}

export type InterfaceParams = Record<string, string | number>;

/** "2835E074-9892-4A79-AFFB-7E41D2605678" → 16 bytes. */
export function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new UsageError(`invalid interface id "${uuid}": expected a UUID`);
  return Uint8Array.from(hex.match(/../g)!.map((b) => Number.parseInt(b, 16)));
}

const cstr = (s: string | undefined) => (s === undefined ? null : Buffer.from(`${s}\0`));

function flagsOf(o: { isolation?: boolean; tso?: boolean; checksumOffload?: boolean }): number {
  return (o.isolation ? START_ISOLATION : 0) | (o.tso ? START_TSO : 0) | (o.checksumOffload ? START_CHECKSUM_OFFLOAD : 0);
}

export class VmnetInterface {
  /** interface_param as vmnet returned it (plus net_* keys for a network), as vmnet-helper prints it. */
  readonly params: InterfaceParams;
  readonly macAddress: string;
  readonly mtu: number;
  readonly maxPacketSize: number;
  /** Packets per vmnet_read/vmnet_write call (reported since macOS 15; 200 before). */
  readonly readMaxPackets: number;
  readonly writeMaxPackets: number;
  #handle: Pointer | null;
  readonly #ref: Pointer;
  #eventFd = -1;

  private constructor(handle: Pointer, json: string) {
    this.#handle = handle;
    const ref = asPointer(vmnetShim().vmlan_iface_ref(handle));
    if (!ref) throw new HostError("vmnet returned no interface_ref");
    this.#ref = ref;
    this.params = JSON.parse(json) as InterfaceParams;
    const num = (k: string, d?: number) => {
      const v = this.params[k] ?? d;
      if (typeof v !== "number") throw new HostError(`vmnet interface_param lacks ${k}: ${json}`);
      return v;
    };
    this.macAddress = String(this.params.vmnet_mac_address ?? "");
    this.mtu = num("vmnet_mtu");
    this.maxPacketSize = num("vmnet_max_packet_size");
    this.readMaxPackets = num("vmnet_read_max_packets", VMNET_LEGACY_MAX_PACKETS);
    this.writeMaxPackets = num("vmnet_write_max_packets", VMNET_LEGACY_MAX_PACKETS);
  }

  /** vmnet_start_interface with a descriptor built from `o`; throws VmnetError on a failed start. */
  static start(o: StartOptions): VmnetInterface {
    if (o.mode === "bridged" && !o.sharedInterface) throw new UsageError("bridged mode needs the host interface to bridge to");
    const id = o.interfaceId ? uuidBytes(o.interfaceId) : null;
    const r = o.range;
    return VmnetInterface.#call("vmnet_start_interface", (json, out) =>
      vmnetShim().vmlan_vmnet_start(MODES[o.mode], id, cstr(r?.start), cstr(r?.end), cstr(r?.mask), cstr(o.sharedInterface), flagsOf(o), json, JSON_CAP, out),
    );
  }

  /** vmnet_interface_start_with_network (macOS 26) on a network this process holds. */
  static startOnNetwork(network: Pointer, o: { isolation?: boolean; tso?: boolean; checksumOffload?: boolean } = {}): VmnetInterface {
    return VmnetInterface.#call("vmnet_interface_start_with_network", (json, out) =>
      vmnetShim().vmlan_vmnet_start_with_network(network, flagsOf(o), json, JSON_CAP, out),
    );
  }

  static #call(name: string, start: (json: Uint8Array, out: Uint8Array) => number): VmnetInterface {
    const jsonAb = new ArrayBuffer(JSON_CAP);
    const json = new Uint8Array(jsonAb);
    const outAb = new ArrayBuffer(8);
    const out = new Uint8Array(outAb);
    const status = start(json, out);
    if (status !== VMNET_SUCCESS) throw new VmnetError(name, status);
    const handle = Number(new DataView(outAb).getBigUint64(0, true)) as Pointer;
    const end = json.indexOf(0);
    return new VmnetInterface(handle, new TextDecoder().decode(json.subarray(0, end < 0 ? JSON_CAP : end)));
  }

  /** The raw interface_ref, for vmnet_read/vmnet_write (the vmnet port). Valid until stop(). */
  get unsafeRef(): Pointer {
    if (!this.#handle) throw new HostError("vmnet interface is stopped");
    return this.#ref;
  }

  /**
   * The read end of the event pipe: readable after vmnet signalled VMNET_INTERFACE_PACKETS_AVAILABLE.
   * Registers the callback on first use. The fd belongs to this object (closed by stop()).
   */
  eventFd(): number {
    if (this.#eventFd >= 0) return this.#eventFd;
    if (!this.#handle) throw new HostError("vmnet interface is stopped");
    const fd = vmnetShim().vmlan_vmnet_events(this.#handle);
    if (fd < 0) throw new VmnetError("vmnet_interface_set_event_callback", -fd);
    this.#eventFd = fd;
    return fd;
  }

  /**
   * vmnet_interface_add_ip_port_forwarding_rule (macOS 11+) on this started classic interface; throws
   * VmnetError when vmnet refuses (an interface started with a macOS 26 network refuses: rules go into
   * that network's configuration instead, ports.ts).
   */
  addForward(f: VmnetForward): void {
    if (!this.#handle) throw new HostError("vmnet interface is stopped");
    const st = vmnetShim().vmlan_interface_add_forward(this.#handle, f.protocol, f.externalPort, f.family, f.address, f.internalPort);
    if (st !== VMNET_SUCCESS) throw new VmnetError(`vmnet_interface_add_ip_port_forwarding_rule ${f.externalPort}`, st);
  }

  /** vmnet_interface_remove_ip_port_forwarding_rule for the rule's protocol, family and external port. */
  removeForward(f: Pick<VmnetForward, "protocol" | "externalPort" | "family">): void {
    if (!this.#handle) throw new HostError("vmnet interface is stopped");
    const st = vmnetShim().vmlan_interface_remove_forward(this.#handle, f.protocol, f.externalPort, f.family);
    if (st !== VMNET_SUCCESS) throw new VmnetError(`vmnet_interface_remove_ip_port_forwarding_rule ${f.externalPort}`, st);
  }

  get stopped(): boolean {
    return this.#handle === null;
  }

  /** vmnet_stop_interface and wait. Idempotent; a port using this interface must not be used after. */
  stop(): void {
    const h = this.#handle;
    if (!h) return;
    this.#handle = null;
    this.#eventFd = -1;
    const status = vmnetShim().vmlan_vmnet_stop(h);
    if (status !== VMNET_SUCCESS) throw new VmnetError("vmnet_stop_interface", status);
  }
}
