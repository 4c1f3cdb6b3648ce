/**
 * macOS 26 vmnet networks (vmnet_network_*; native-facts §A 5.4, §B.1) from a HostNetworkSpec, the
 * way apple/container creates them: DHCP and the DNS proxy disabled (vmlan's services answer on the
 * gateway, docs/macos.md "DHCP and DNS for guests"), the IPv4 subnet
 * given as gateway address + dotted mask, the IPv6 prefix as its gateway address + length, the MTU.
 * A network reserves its subnet while any reference lives (this object, started interfaces, or a
 * copy recreated from its serialization).
 *
 * Serialization: vmnet returns an opaque XPC object. When it is plain data the shim flattens it to
 * bytes (storable, sendable over a unix socket); when it holds Mach rights serialize() throws
 * NotPlainDataError and the caller must keep the network in the owning process or move it over XPC.
 * See docs/macos.md.
 */
import { type Pointer } from "bun:ffi";
import { vmnetShim } from "../../../ffi/vmnet/load.ts";
import {
  NETWORK_DISABLE_DHCP, NETWORK_DISABLE_DNS_PROXY, SERIALIZE_NOT_PLAIN, SERIALIZE_TOO_SMALL, VMNET_HOST_MODE, VMNET_SHARED_MODE, VMNET_SUCCESS,
} from "../../../ffi/vmnet/constants.ts";
import { HostError, UsageError } from "../../core/errors.ts";
import type { HostNetworkSpec } from "../types.ts";
import { asPointer, VmnetError } from "./vmnet-interface.ts";
import { forwardsBuffer, type VmnetForward } from "./ports.ts";

/** Generous for a flattened serialization (the double's is ~300 bytes); grown once if vmnet's is bigger. */
const SERIALIZATION_CAP = 16 * 1024;

export class NotPlainDataError extends HostError {
  constructor() {
    super("this vmnet network's serialization carries Mach rights: it can only move over XPC, not as bytes", { code: "EVMNET_NOT_PLAIN" });
  }
}

export interface VmnetNetworkInfo {
  /** The gateway-style address vmnet reports, e.g. "192.168.64.1". */
  ipv4Address: string;
  ipv4Mask: string;
  /** The network in CIDR form, e.g. "192.168.64.0/24". */
  subnet: string;
  ipv6Prefix: string;
  ipv6PrefixLen: number;
}

const ipv4ToInt = (a: string) => a.split(".").reduce((n, b) => n * 256 + Number(b), 0);
const intToIpv4 = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
const maskOf = (len: number) => intToIpv4(len === 0 ? 0 : 2 ** 32 - 2 ** (32 - len));

function cidr(s: string): [string, number] {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) throw new UsageError(`"${s}" is not in CIDR form`);
  return [m[1]!, Number(m[2])];
}

const cstr = (s: string | null) => (s === null ? null : Buffer.from(`${s}\0`));

export class VmnetNetwork {
  #ref: Pointer | null;

  private constructor(ref: Pointer) {
    this.#ref = ref;
  }

  /**
   * vmnet_network_create from the spec (bridged mode is not a network mode on macOS 26), with the
   * published ports' forwarding rules in its configuration (the only place vmnet takes them here).
   */
  static create(spec: HostNetworkSpec, o: { dhcp?: boolean; forwards?: VmnetForward[] } = {}): VmnetNetwork {
    const forwards = o.forwards ?? [];
    const [, len] = cidr(spec.subnet);
    const v6 = spec.subnetV6 ? cidr(spec.subnetV6) : null;
    const status = new Uint32Array(new ArrayBuffer(4));
    const ref = asPointer(vmnetShim().vmlan_network_create_forwarding(
      spec.mode === "host" ? VMNET_HOST_MODE : VMNET_SHARED_MODE,
      cstr(spec.gateway), cstr(maskOf(len)),
      cstr(v6 ? (spec.gatewayV6 ?? v6[0]) : null), v6 ? v6[1] : 0,
      spec.mtu, o.dhcp ? 0 : NETWORK_DISABLE_DHCP | NETWORK_DISABLE_DNS_PROXY, forwardsBuffer(forwards), forwards.length, status,
    ));
    if (!ref) throw new VmnetError(`vmnet_network_create ${spec.name} (${spec.subnet})`, status[0]!);
    return new VmnetNetwork(ref);
  }

  /** A network ref this process owns already (one the XPC client recreated from a broker's serialization). */
  static adopt(ref: Pointer): VmnetNetwork {
    return new VmnetNetwork(ref);
  }

  /** vmnet_network_create_with_serialization from bytes made by serialize(). */
  static fromSerialization(bytes: Uint8Array): VmnetNetwork {
    const status = new Uint32Array(new ArrayBuffer(4));
    const ref = asPointer(vmnetShim().vmlan_network_deserialize(bytes, bytes.length, status));
    if (!ref) throw new VmnetError("vmnet_network_create_with_serialization", status[0]!);
    return new VmnetNetwork(ref);
  }

  /** The vmnet_network_ref, for VmnetInterface.startOnNetwork. Valid until release(). */
  get unsafeRef(): Pointer {
    if (!this.#ref) throw new HostError("vmnet network was released");
    return this.#ref;
  }

  info(): VmnetNetworkInfo {
    const buf = new Uint8Array(new ArrayBuffer(512));
    const n = vmnetShim().vmlan_network_info(this.unsafeRef, buf, buf.length);
    if (n < 0) throw new HostError("vmnet network info did not fit");
    const j = JSON.parse(new TextDecoder().decode(buf.subarray(0, n))) as Record<string, string | number>;
    const addr = String(j.net_ipv4_subnet);
    const mask = String(j.net_ipv4_mask);
    const m = ipv4ToInt(mask);
    const lower = ipv4ToInt(addr) - (ipv4ToInt(addr) % (2 ** 32 - m));
    const len = m.toString(2).replace(/0+$/, "").length;
    return { ipv4Address: addr, ipv4Mask: mask, subnet: `${intToIpv4(lower)}/${len}`, ipv6Prefix: String(j.net_ipv6_prefix), ipv6PrefixLen: Number(j.net_ipv6_prefix_len) };
  }

  /** vmnet_network_copy_serialization as bytes; throws NotPlainDataError when only XPC can carry it. */
  serialize(): Uint8Array {
    for (let cap = SERIALIZATION_CAP; ; ) {
      const buf = new Uint8Array(new ArrayBuffer(cap));
      const status = new Uint32Array(new ArrayBuffer(4));
      const n = Number(vmnetShim().vmlan_network_serialize(this.unsafeRef, buf, cap, status));
      if (n >= 0) return buf.slice(0, n);
      if (n === SERIALIZE_NOT_PLAIN) throw new NotPlainDataError();
      if (n === SERIALIZE_TOO_SMALL && status[0]! > cap) { cap = status[0]!; continue; }
      throw new VmnetError("vmnet_network_copy_serialization", status[0] === VMNET_SUCCESS ? 0 : status[0]!);
    }
  }

  /** Drops this reference (CFRelease). Idempotent. Started interfaces keep the network alive. */
  release(): void {
    const r = this.#ref;
    this.#ref = null;
    if (r) vmnetShim().vmlan_network_release(r);
  }
}
