import { defineCommand } from "citty";
import { formatArgs, quietArg } from "../_args.ts";
import { formatFrom, render, type Column } from "../../output.ts";
import { loadPlatform } from "../../context.ts";
import type { UplinkCandidate } from "../../../platform/types.ts";

const columns: Column<UplinkCandidate>[] = [
  { header: "NAME", value: (u) => u.name },
  { header: "STATE", value: (u) => u.state },
  { header: "MTU", value: (u) => u.mtu ?? "-" },
  { header: "IPV4", value: (u) => u.ipv4.join(",") || "-" },
];

export default defineCommand({
  meta: {
    name: "uplinks",
    description: "List host interfaces a bridged network can use as --uplink",
    details: `Linux: Ethernet-like interfaces on no bridge or bond (not loopback, Wi-Fi or a bridge
itself). macOS: the interfaces vmnet offers for bridging. The names only (-q) are what
vmnet-helper --list-shared-interfaces prints.`,
    examples: ["vmlan network uplinks", "vmlan network uplinks -q  # names only", "vmlan network uplinks --format json"],
  },
  args: { ...formatArgs, ...quietArg },
  async run({ args }) {
    const platform = await loadPlatform();
    render(await platform.listUplinks(), columns, { format: formatFrom(args), quiet: args.quiet, key: (u) => u.name });
  },
});
