import { defineCommand } from "citty";
import { formatArgs, quietArg } from "./_args.ts";
import { formatFrom, render } from "../output.ts";
import { openStore } from "../context.ts";
import { LeaseService } from "../../core/leases.ts";
import { ContainerService } from "../../core/containers.ts";
import { PortService } from "../../core/ports/service.ts";
import { attachmentColumns, withOwner } from "../display/attachment.ts";

export default defineCommand({
  meta: {
    name: "attachments",
    description: "List attachments (of all networks, or one)",
    details: `KIND is container for attachments the CNI plugin made (CONTAINER: the runtime's container id
and interface), else vm. PORTS are its published ports (vmlan port), host->guest.`,
    examples: ["vmlan attachments", "vmlan attachments lab --all  # released leases too"],
  },
  args: {
    network: { type: "positional", description: "Network name", required: false },
    all: { type: "boolean", alias: "a", description: "Include released leases (kept for sticky ids)" },
    ...formatArgs,
    ...quietArg,
  },
  run({ args }) {
    const store = openStore();
    const containers = new ContainerService(store).records();
    const ports = new PortService(store, null).list();
    const rows = new LeaseService(store).list(args.network || undefined, args.all).map((a) => withOwner(a, containers.get(`${a.network}/${a.id}`), ports));
    render(rows, attachmentColumns, { format: formatFrom(args), quiet: args.quiet, key: (a) => `${a.network}/${a.id}` });
  },
});
