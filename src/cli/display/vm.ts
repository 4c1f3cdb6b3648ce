import type { Column } from "../output.ts";
import type { VmRecord } from "../../vm/registry.ts";

const addrs = (v: VmRecord) => v.nics.map((n) => (n.address ? `${n.address}/${n.prefixLength}` : "dhcp")).join(",");

export const vmColumns: Column<VmRecord>[] = [
  { header: "NAME", value: (v) => v.name },
  { header: "PID", value: (v) => v.pid },
  { header: "NETWORKS", value: (v) => v.nics.map((n) => n.network).join(",") },
  { header: "ADDRESSES", value: addrs },
  { header: "MACS", value: (v) => v.nics.map((n) => n.mac).join(",") },
  { header: "ACCEL", value: (v) => v.accel },
  { header: "STARTED", value: (v) => v.startedAt },
];

/** What `vm run` prints: enough to reach the VM and to stop it. */
export function vmRecordView(v: VmRecord, detached: boolean): Record<string, unknown> {
  return {
    name: v.name,
    ...(detached ? { pid: v.pid } : {}),
    networks: v.nics.map((n) => n.network).join(","),
    address: addrs(v),
    mac: v.nics.map((n) => n.mac).join(","),
    gateway: v.nics[0]?.gateway,
    tap: v.nics.map((n) => n.ifname ?? "-").join(","),
    accel: v.accel,
    attachment: v.attachment,
    console: v.console,
    stop: detached ? `vmlan vm stop ${v.name}` : `vmlan vm stop ${v.name} (or Ctrl-A X on the console)`,
  };
}
