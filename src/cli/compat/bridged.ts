/**
 * vmnet-helper's bridged mode on vmlan's bridged networks (`network create --mode bridged --uplink
 * IF`): `--operation-mode bridged --shared-interface IF` joins the bridged network whose uplink is IF,
 * made on first use (`vmnet-bridged-IF`, labelled as made for compatibility), and
 * `--list-shared-interfaces` prints the interfaces such a network can use, one per line, as
 * `vmlan network uplinks -q` does. The LAN's router and DHCP serve the guests.
 */
import { UsageError } from "../../core/errors.ts";
import { loadPlatform } from "../context.ts";
import type { NetworkService } from "../../core/networks.ts";
import type { Network } from "../../core/resources/network.ts";
import { COMPAT_LABEL_KEY, COMPAT_LABEL_VALUE } from "../../core/compat/vmnet-networks.ts";

/** The host interfaces a bridged network can use (vmnet-helper --list-shared-interfaces). */
export async function listSharedInterfaces(): Promise<string[]> {
  return (await (await loadPlatform()).listUplinks()).map((u) => u.name);
}

/** The bridged network on `uplink`: the stored one, else a new one (the uplink is checked before anything moves). */
export async function bridgedNetwork(svc: NetworkService, uplink: string): Promise<{ network: Network; created: boolean }> {
  const existing = svc.store.listNetworks().find((n) => n.mode === "bridged" && n.uplink === uplink);
  if (existing) return { network: existing, created: false };
  if (!(await listSharedInterfaces()).includes(uplink)) {
    throw new UsageError(`invalid --shared-interface ${JSON.stringify(uplink)}: not an interface a bridged network can use (see --list-shared-interfaces)`);
  }
  const name = `vmnet-bridged-${uplink.replace(/[^a-zA-Z0-9_.-]/g, "-")}`;
  const { network } = await svc.create({ name, mode: "bridged", uplink, labels: { [COMPAT_LABEL_KEY]: COMPAT_LABEL_VALUE } });
  return { network, created: true };
}
