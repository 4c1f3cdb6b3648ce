/**
 * Composition for `vmlan switch` (and `socket_vmnet`): the network checked up before anything is
 * allocated, a TAP on its bridge per client (the platform's TapOpener), and the release of the
 * lease a client's VM took by DHCP when the client goes (a `vmlan attach` reservation stays).
 */
import { readFileSync } from "node:fs";
import { LeaseService } from "../../core/leases.ts";
import { UsageError } from "../../core/errors.ts";
import type { NetworkService } from "../../core/networks.ts";
import { tapOpener } from "./_host-port.ts";
import type { PortDeps } from "../../switch/port.ts";
import type { TapPort } from "../../platform/types.ts";

/** The per-client dependencies of a switch on network `name` (which is up). */
export async function switchDeps(svc: NetworkService, name: string): Promise<PortDeps> {
  const open = await tapOpener(svc);
  const store = svc.store;
  const leases = new LeaseService(store);
  return {
    // Guarded from its first frame (issue #12 item 2): the port learns its VM's MAC, and its address
    // checks start once DHCP gave that MAC a lease (src/cli/guarded-port.ts).
    openPort: () => open(name, null),
    // The switch sees the VM's first frame itself: pin the port to that MAC at once (the kernel learned the same).
    protect: (port, mac) => (port as TapPort).guard?.update({ mac, lease: null }),
    release(mac) {
      const l = store.activeWithMac(name, mac);
      if (l?.origin !== "dhcp") return null;
      const a = leases.detach(name, l.id, { ifExists: true });
      return a && { network: name, id: a.id, mac: a.mac, address: a.address };
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
