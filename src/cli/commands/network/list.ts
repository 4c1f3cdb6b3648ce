import { defineCommand } from "citty";
import { formatArgs, quietArg } from "../_args.ts";
import { formatFrom, render } from "../../output.ts";
import { networkService } from "../../context.ts";
import { networkColumns } from "../../display/network.ts";

export default defineCommand({
  meta: {
    name: "list", alias: "ls", description: "List networks",
    examples: ["vmlan network ls", "vmlan network ls -q  # names only", "vmlan network ls --format json"],
  },
  args: { ...formatArgs, ...quietArg },
  async run({ args }) {
    const svc = await networkService(false);
    render(svc.list(), networkColumns, { format: formatFrom(args), quiet: args.quiet, key: (n) => n.name });
  },
});
