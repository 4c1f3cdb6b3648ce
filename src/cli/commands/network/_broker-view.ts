/**
 * macOS 26: a vmnet network is up only while some process holds it, and a one-shot command such as
 * `network inspect` or `system status` holds none. When `vmlan broker` runs, its view is the one
 * that matters, so a network the broker holds is shown up, "held by vmlan broker". Elsewhere (Linux:
 * the kernel's bridge; macOS 15: vmnet's own shared network) the views are left as the platform gave them.
 */
import type { NetworkService, NetworkView } from "../../../core/networks.ts";

interface BrokerNetwork { name: string; up: boolean; holders: unknown[] }
type BrokerStatus = { pid: number; networks: BrokerNetwork[] };

/** The broker's status, or null when no broker answers on its socket. */
async function brokerStatus(): Promise<BrokerStatus | null> {
  const { BrokerClient } = await import("../../../broker/client.ts");
  let client;
  try {
    client = BrokerClient.connect();
  } catch {
    return null;
  }
  try {
    return client.call("status", {}).result as BrokerStatus;
  } catch {
    return null;
  } finally {
    client.close();
  }
}

/** Pure: one view as the broker sees it (the broker created the network from the same spec and checked its subnet). */
export function brokerView<T extends NetworkView>(view: T, broker: BrokerStatus | null): T {
  const held = broker?.networks.find((n) => n.name === view.name && n.up);
  if (!held || !view.host || view.host.up) return view;
  const prefix = view.subnet.split("/")[1];
  const addresses = [`${view.gateway}/${prefix}`, ...(view.gatewayV6 && view.subnetV6 ? [`${view.gatewayV6}/${view.subnetV6.split("/")[1]}`] : [])];
  const holders = held.holders.length;
  return { ...view, host: { ...view.host, up: true, addresses, nat: view.mode === "shared", detail: `held by vmlan broker pid ${broker!.pid} (${holders} holder${holders === 1 ? "" : "s"})` } };
}

/** The views, with the broker's on a platform whose networks live only while held (macOS 26). */
export async function withBrokerView<T extends NetworkView>(svc: NetworkService, views: T[]): Promise<T[]> {
  const p = svc.platform;
  if (!p || !("serveNetworks" in p) || !views.some((v) => v.host && !v.host.up && v.mode !== "bridged")) return views;
  const broker = await brokerStatus();
  return views.map((v) => (v.mode === "bridged" ? v : brokerView(v, broker)));
}
