/**
 * Composition for `vmlan switch` (and `socket_vmnet`): the network checked up before anything is
 * allocated, a TAP on its bridge per client (the platform's TapOpener), and the release of the
 * lease a client's VM took by DHCP when the client goes (a `vmlan attach` reservation stays).
 */
import { readFileSync } from "node:fs";
import { networkService, openStore } from "../context.ts";
import { LeaseService } from "../../core/leases.ts";
import { UsageError } from "../../core/errors.ts";
import { bridgeOf, tapOpener } from "./_host-port.ts";
import type { PortDeps } from "../../switch/port.ts";
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
  return {
    network,
    deps: {
      openPort: () => open(name),
      release(mac) {
        const l = store.activeWithMac(name, mac);
        if (l?.origin !== "dhcp") return null;
        const a = leases.detach(name, l.id, { ifExists: true });
        return a && { network: name, id: a.id, mac: a.mac, address: a.address };
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
