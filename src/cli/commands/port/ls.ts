import { defineCommand } from "citty";
import { formatArgs, quietArg } from "../_args.ts";
import { formatFrom, render } from "../../output.ts";
import { openStore } from "../../context.ts";
import { PortService } from "../../../core/ports/service.ts";
import { portColumns, portRecord } from "../../display/port.ts";

export default defineCommand({
  meta: {
    name: "ls",
    description: "List published ports",
    details: `STATE is active (in effect), inactive (its attachment is not attached: the port comes back
when it attaches again) or conflict (another attachment that became active first holds the host
port; DETAIL names it).`,
    examples: ["vmlan port ls", "vmlan port ls default --format json"],
  },
  args: {
    network: { type: "positional", valueHint: "NETWORK", description: "Only this network", required: false },
    ...formatArgs,
    ...quietArg,
  },
  run({ args }) {
    const rows = new PortService(openStore(), null).list(args.network || undefined);
    render(rows, portColumns, { format: formatFrom(args), quiet: args.quiet, key: (p) => `${p.network}/${p.id}/${p.spec}`, json: rows.map(portRecord) });
  },
});
