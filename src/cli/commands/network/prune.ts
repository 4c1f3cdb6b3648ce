import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { formatFrom, printJson } from "../../output.ts";
import { networkService } from "../../context.ts";
import { notifyServices } from "../../../services/control.ts";

export default defineCommand({
  meta: {
    name: "prune",
    description: "Remove every network without active attachments",
    details: "The built-in default network is never pruned.",
    examples: ["vmlan network prune", "vmlan network prune --format json"],
  },
  args: { ...formatArgs },
  async run({ args }) {
    const svc = await networkService(true);
    const removed = await svc.prune();
    if (removed.length) await notifyServices();
    if (formatFrom(args) === "json") printJson({ removed });
    else process.stdout.write(removed.map((n) => `${n}\n`).join(""));
  },
});
