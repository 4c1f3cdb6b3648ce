import type { Column } from "../output.ts";
import type { Attachment } from "../../core/resources/attachment.ts";
import type { ContainerAttachment } from "../../core/resources/container.ts";
import type { PortView } from "../../core/ports/state.ts";
import { portShort } from "./port.ts";

/** An attachment with who holds it: a container (through the CNI plugin) or a VM/tool (`vm`). */
export type ListedAttachment = Attachment & {
  kind: "container" | "vm";
  container?: { id: string; ifname: string; role: "main" | "ipam"; netns: string | null };
  /** published ports, as `port ls` shows them (canonical spec and state) */
  ports: { spec: string; state: string; short: string }[];
};

export function withOwner(a: Attachment, c: ContainerAttachment | undefined, ports: PortView[] = []): ListedAttachment {
  const mine = ports.filter((p) => p.network === a.network && p.id === a.id).map((p) => ({ spec: p.spec, state: p.state, short: portShort(p) }));
  if (!c) return { ...a, kind: "vm", ports: mine };
  return { ...a, kind: "container", container: { id: c.containerId, ifname: c.ifname, role: c.role, netns: c.netns }, ports: mine };
}

export const attachmentColumns: Column<ListedAttachment>[] = [
  { header: "NETWORK", value: (a) => a.network },
  { header: "ID", value: (a) => a.id },
  { header: "ADDRESS", value: (a) => (a.address ? `${a.address}/${a.prefixLength}` : "lan-dhcp") },
  { header: "MAC", value: (a) => a.mac },
  { header: "HOSTNAME", value: (a) => a.hostname },
  { header: "IPV6", value: (a) => (a.addressV6 ? `${a.addressV6}/${a.prefixLengthV6}` : "-") },
  { header: "STATE", value: (a) => a.state },
  { header: "KIND", value: (a) => a.kind },
  // Container ids are 64 hex digits from most runtimes; 12 are what `podman ps` shows.
  { header: "CONTAINER", value: (a) => (a.container ? `${a.container.id.slice(0, 12)}/${a.container.ifname}` : "-") },
  { header: "PORTS", value: (a) => (a.ports.length ? a.ports.map((p) => (p.state === "active" ? p.short : `${p.short} (${p.state})`)).join(", ") : "-") },
];

/** What `attach` prints for a person. */
export function attachmentRecord(a: Attachment): Record<string, unknown> {
  return {
    network: a.network, id: a.id, address: a.address ? `${a.address}/${a.prefixLength}` : "from the LAN's DHCP server (bridged network)",
    gateway: a.gateway ?? undefined, mac: a.mac, mtu: a.mtu,
    hostname: a.hostname, ...(a.addressV6 ? { ipv6: `${a.addressV6}/${a.prefixLengthV6}` } : {}),
  };
}
