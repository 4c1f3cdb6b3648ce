import { defineCommand } from "citty";
import { formatArgs, quietArg } from "../_args.ts";
import { formatFrom, render } from "../../output.ts";
import { vmColumns } from "../../display/vm.ts";
import { vmDeps } from "./_deps.ts";

export default defineCommand({
  meta: {
    name: "list",
    alias: "ls",
    description: "List running VMs",
    details: "Records of VMs that died are cleaned up here, and their leases released.",
    examples: ["vmlan vm ls", "vmlan vm ls -q  # names only"],
  },
  args: { ...formatArgs, ...quietArg },
  async run({ args }) {
    const { listVms } = await import("../../../vm/launch.ts");
    render(listVms(await vmDeps({ withHost: false })), vmColumns, { format: formatFrom(args), quiet: args.quiet, key: (v) => v.name });
  },
});
