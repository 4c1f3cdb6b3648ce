/**
 * Joining a network through the broker (`helper --broker`, `run --broker --native`): one connection
 * per network carries both the lease (`attach`/`detach`, the broker's IPAM) and the TAP (`acquire`
 * with a TAP fd), so this process needs neither CAP_NET_ADMIN nor write access to the store. The
 * connection is the hold: if this process dies, the broker releases the TAP's network and every
 * lease attached without `keep`.
 */
import { VmlanError } from "../../core/errors.ts";
import type { HelperDeps, HelperLease, HostPort } from "../../datapath/helper.ts";
import type { VmnetPortOpener } from "../../platform/types.ts";
import { vmnetHostPort } from "./_host-port.ts";

export interface BrokerSession {
  attach(id: string, opts?: { mac?: string; keep?: boolean; allowSpoofing?: boolean }): HelperLease;
  /** Detaches the lease, then closes the connection (the TAP, if any, was closed before). */
  release(lease: HelperLease): void;
  /** The helper's host port: on macOS 26 a vmnet interface here on the network from XPC, else the broker's TAP fd. */
  openHostPort(): HostPort;
  /** A frame fd for a VM (`run --native --broker`): the broker's TAP, or on macOS its frame-copying port. */
  openFrameFd(): HostPort;
}

export async function brokerSession(network: string, socket?: string): Promise<BrokerSession> {
  const { BrokerClient } = await import("../../broker/client.ts");
  const { closeFd } = await import("../../ipc/unix-stream.ts");
  const client = BrokerClient.connect(socket);
  const native = await nativeVmnet();
  return {
    attach: (id, opts = {}) => {
      const l = client.attach(network, id, opts);
      return { id: l.id, network: l.network, mac: l.mac, address: l.address, prefixLength: l.prefixLength, gateway: l.gateway, hostname: l.hostname, mtu: l.mtu };
    },
    release: (lease) => {
      try {
        client.detach(network, lease.id);
      } finally {
        client.close();
      }
    },
    openFrameFd: () => frameFd(),
    openHostPort: () => {
      if (native) {
        // macOS 26: the network itself from the broker's XPC service, the interface here (vmnet-helper
        // --network's shape); the socket's acquire only tells which network and holds it too.
        const { result } = client.acquire(network, false);
        const n = result.network;
        const spec = { name: n.name, bridge: n.bridge, mode: n.mode as "shared" | "host", subnet: n.subnet, gateway: n.gateway, subnetV6: n.subnetV6, gatewayV6: n.gatewayV6, mtu: n.mtu };
        return vmnetHostPort(native, spec, `broker-${process.pid}`)();
      }
      return frameFd();
    },
  };
  function frameFd(): HostPort {
    const { result, tapFd } = client.acquire(network, true);
    if (tapFd === null || !result.tap) throw new VmlanError(`the broker gave no TAP for "${network}"`, { code: "EHOST", exitCode: 6 });
    return { fd: tapFd, ifname: result.tap.ifname, close: () => closeFd(tapFd) };
  }
}

/**
 * macOS 26 (a platform that takes networks from the XPC broker): the vmnet opener, so `helper --broker`
 * attaches natively instead of taking the broker's frame-copying port. null elsewhere (Linux: the TAP
 * fd; macOS 15: the hand-out is the only shared path).
 */
async function nativeVmnet(): Promise<VmnetPortOpener | null> {
  if (process.platform !== "darwin" && process.env.VMLAN_PLATFORM !== "darwin-double") return null;
  const { hostPlatform } = await import("../../platform/index.ts");
  const p = (await hostPlatform()) as unknown as Partial<VmnetPortOpener> & { serveNetworks?: unknown; os: string };
  return p.os === "darwin" && p.serveNetworks && p.openVmnetPort ? (p as VmnetPortOpener) : null;
}

/** Helper dependencies when joining through the broker (`vmlan helper --broker`): no store, no netlink here. */
export async function brokerHelperDeps(network: string, id: string, mac: string | undefined, keep: boolean, socket?: string, allowSpoofing?: boolean): Promise<HelperDeps> {
  const s = await brokerSession(network, socket);
  return { attach: () => s.attach(id, { mac, keep, allowSpoofing }), release: (l) => s.release(l), openHostPort: () => s.openHostPort() };
}
