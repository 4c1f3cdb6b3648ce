/**
 * Joining a network through the broker (`helper --broker`, `run --broker --native`): one connection
 * per network carries both the lease (`attach`/`detach`, the broker's IPAM) and the TAP (`acquire`
 * with a TAP fd), so this process needs neither CAP_NET_ADMIN nor write access to the store. The
 * connection is the hold: if this process dies, the broker releases the TAP's network and every
 * lease attached without `keep`.
 */
import { VmlanError } from "../../core/errors.ts";
import type { HelperDeps, HelperLease, HostPort } from "../../datapath/helper.ts";

export interface BrokerSession {
  attach(id: string, opts?: { mac?: string; keep?: boolean }): HelperLease;
  /** Detaches the lease, then closes the connection (the TAP, if any, was closed before). */
  release(lease: HelperLease): void;
  openHostPort(): HostPort;
}

export async function brokerSession(network: string, socket?: string): Promise<BrokerSession> {
  const { BrokerClient } = await import("../../broker/client.ts");
  const { closeFd } = await import("../../ipc/unix-stream.ts");
  const client = BrokerClient.connect(socket);
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
    openHostPort: () => {
      const { result, tapFd } = client.acquire(network, true);
      if (tapFd === null || !result.tap) throw new VmlanError(`the broker gave no TAP for "${network}"`, { code: "EHOST", exitCode: 6 });
      return { fd: tapFd, ifname: result.tap.ifname, close: () => closeFd(tapFd) };
    },
  };
}

/** Helper dependencies when joining through the broker (`vmlan helper --broker`): no store, no netlink here. */
export async function brokerHelperDeps(network: string, id: string, mac: string | undefined, keep: boolean, socket?: string): Promise<HelperDeps> {
  const s = await brokerSession(network, socket);
  return { attach: () => s.attach(id, { mac, keep }), release: (l) => s.release(l), openHostPort: () => s.openHostPort() };
}
