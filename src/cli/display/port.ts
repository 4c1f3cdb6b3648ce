import type { Column } from "../output.ts";
import type { PortView } from "../../core/ports/state.ts";
import { familyOf, guestEnd, hostText } from "../../core/ports/spec.ts";

const guestText = (p: PortView): string => {
  const ports = p.guestPort === guestEnd(p) ? String(p.guestPort) : `${p.guestPort}-${guestEnd(p)}`;
  if (!p.guestAddress) return ports;
  return `${familyOf(p.guestAddress) === 6 ? `[${p.guestAddress}]` : p.guestAddress}:${ports}`;
};

export const portColumns: Column<PortView>[] = [
  { header: "NETWORK", value: (p) => p.network },
  { header: "ID", value: (p) => p.id },
  { header: "HOST", value: (p) => hostText(p) },
  { header: "GUEST", value: (p) => guestText(p) },
  { header: "PROTO", value: (p) => p.proto },
  { header: "STATE", value: (p) => p.state },
  { header: "DETAIL", value: (p) => p.detail ?? "" },
];

/** What JSON output carries for one port. */
export function portRecord(p: PortView): Record<string, unknown> {
  return {
    network: p.network, id: p.id, spec: p.spec, proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, hostEnd: p.hostEnd,
    guestAddress: p.guestAddress, guestPort: p.guestPort, guestEnd: guestEnd(p), state: p.state, detail: p.detail, createdAt: p.createdAt,
  };
}

/** The short form attachments and inspect show: 127.0.0.1:8080->80/tcp */
export const portShort = (p: PortView): string => `${hostText(p)}->${guestText({ ...p, guestAddress: null })}/${p.proto}`;
