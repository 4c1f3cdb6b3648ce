import { defineCommand } from "citty";
import { formatArgs, quietArg } from "./_args.ts";
import { formatFrom, render } from "../output.ts";
import { leaseService } from "../context.ts";
import { attachmentColumns } from "../display/attachment.ts";

export default defineCommand({
  meta: {
    name: "attachments",
    description: "List attachments (of all networks, or one)",
    examples: ["vmlan attachments", "vmlan attachments lab --all  # released leases too"],
  },
  args: {
    network: { type: "positional", description: "Network name", required: false },
    all: { type: "boolean", alias: "a", description: "Include released leases (kept for sticky ids)" },
    ...formatArgs,
    ...quietArg,
  },
  run({ args }) {
    const rows = leaseService().list(args.network || undefined, args.all);
    render(rows, attachmentColumns, { format: formatFrom(args), quiet: args.quiet, key: (a) => `${a.network}/${a.id}` });
  },
});
