import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { formatFrom, printJson } from "../../output.ts";
import { vmDeps } from "./_deps.ts";
import { portsChanged } from "../../ports.ts";

export default defineCommand({
  meta: {
    name: "stop",
    description: "Stop a VM and release its leases",
    details: "SIGTERM to QEMU (or the process running the VM), SIGKILL after 5 s. Its published ports stop with it.",
    examples: ["vmlan vm stop web"],
  },
  args: { name: { type: "positional", description: "VM name", required: true }, ...formatArgs },
  async run({ args }) {
    const { stopVm } = await import("../../../vm/launch.ts");
    const rec = await stopVm(args.name, await vmDeps({ withHost: false }));
    await portsChanged();
    if (formatFrom(args) === "json") printJson({ name: rec.name, stopped: true });
    else process.stdout.write(`${rec.name} stopped\n`);
  },
});
