import type { Column } from "../output.ts";
import type { NetworkView } from "../../core/networks.ts";

export const networkColumns: Column<NetworkView>[] = [
  { header: "NAME", value: (n) => n.name },
  { header: "MODE", value: (n) => n.mode },
  { header: "SUBNET", value: (n) => n.subnet },
  { header: "GATEWAY", value: (n) => n.gateway },
  { header: "IPV6", value: (n) => n.subnetV6 ?? "-" },
  { header: "BRIDGE", value: (n) => n.bridge },
  { header: "UPLINK", value: (n) => n.uplink ?? "-" },
  { header: "ATTACHED", value: (n) => n.attachments },
  { header: "LABELS", value: (n) => Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(",") || "-" },
];
