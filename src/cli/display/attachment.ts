import type { Column } from "../output.ts";
import type { Attachment } from "../../core/resources/attachment.ts";

export const attachmentColumns: Column<Attachment>[] = [
  { header: "NETWORK", value: (a) => a.network },
  { header: "ID", value: (a) => a.id },
  { header: "ADDRESS", value: (a) => `${a.address}/${a.prefixLength}` },
  { header: "MAC", value: (a) => a.mac },
  { header: "HOSTNAME", value: (a) => a.hostname },
  { header: "IPV6", value: (a) => (a.addressV6 ? `${a.addressV6}/${a.prefixLengthV6}` : "-") },
  { header: "STATE", value: (a) => a.state },
];

/** What `attach` prints for a person. */
export function attachmentRecord(a: Attachment): Record<string, unknown> {
  return {
    network: a.network, id: a.id, address: `${a.address}/${a.prefixLength}`, gateway: a.gateway, mac: a.mac, mtu: a.mtu,
    hostname: a.hostname, ...(a.addressV6 ? { ipv6: `${a.addressV6}/${a.prefixLengthV6}` } : {}),
  };
}
