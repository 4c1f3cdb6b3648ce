/**
 * Composition for `vmlan switch` (and `socket_vmnet`): the network checked up before anything is
 * allocated, a TAP on its bridge per client (the platform's TapOpener), and the leases of the MACs
 * the clients' VMs chose, through the same IPAM path as DHCP (storeLeaseBook.claim: the MAC's
 * active lease, else its sticky claim, else a new `mac-<hex>` attachment).
 */
import { readFileSync } from "node:fs";
import { networkService, openStore } from "../context.ts";
import { LeaseService } from "../../core/leases.ts";
import { UsageError } from "../../core/errors.ts";
import { idForMac, storeLeaseBook } from "../../services/dhcp/policy.ts";
import { bridgeOf, tapOpener } from "./_host-port.ts";
import type { PortDeps, PortLease } from "../../switch/port.ts";
import type { Network } from "../../core/resources/network.ts";

export interface SwitchNetwork { network: Network; deps: PortDeps }

/** The network (which must be up) and the per-client dependencies of a switch on it. */
export async function switchDeps(name: string): Promise<SwitchNetwork> {
  const svc = await networkService(true);
  await bridgeOf(name, svc); // a network that is down is refused before the socket exists
  const network = svc.get(name);
  const open = await tapOpener(svc);
  const store = openStore();
  const leases = new LeaseService(store);
  const book = storeLeaseBook(store, leases, name);
  return {
    network,
    deps: {
      openPort: () => open(name),
      claim(mac): PortLease {
        const before = store.leaseWithMac(name, mac);
        const a = book.claim(mac, null);
        // A lease someone else keeps active under their own id (`vmlan attach --id web --mac ...`) is theirs.
        const owned = before?.state !== "active" || a.id === idForMac(mac);
        return { network: name, id: a.id, mac: a.mac, address: a.address, owned };
      },
      release(lease) {
        leases.detach(lease.network, lease.id, { ifExists: true });
      },
    },
  };
}

/** gid of a group name (from /etc/group, as `vmlan broker --group`) or number; unknown names are an error. */
export function groupId(group: string, flag: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  let text = "";
  try {
    text = readFileSync("/etc/group", "utf8");
  } catch {}
  const line = text.split("\n").find((l) => l.split(":")[0] === group);
  if (!line) throw new UsageError(`invalid ${flag} "${group}": unknown group name`);
  return Number(line.split(":")[2]);
}
