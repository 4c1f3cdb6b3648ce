import { defineCommand } from "citty";
import { formatArgs, positionals } from "../_args.ts";
import { formatFrom, printJson } from "../../output.ts";
import { networkService } from "../../context.ts";
import { notifyServices } from "../../../services/control.ts";

export default defineCommand({
  meta: {
    name: "rm",
    description: "Remove networks, their bridges and rules",
    details: "Refused while the network has active attachments, unless --force (they are released).",
    examples: ["vmlan network rm lab", "vmlan network rm lab lab6 --force --if-exists"],
  },
  args: {
    name: { type: "positional", valueHint: "NAME...", description: "Network name(s)", required: true },
    force: { type: "boolean", description: "Remove even with active attachments (they are released)" },
    "if-exists": { type: "boolean", description: "Succeed when the network does not exist" },
    ...formatArgs,
  },
  async run({ args }) {
    const names = [args.name, ...positionals(args).slice(1)];
    const svc = await networkService(true);
    const results = await svc.removeMany(names, { force: args.force, ifExists: args["if-exists"] });
    await notifyServices();
    if (formatFrom(args) === "json") {
      printJson(results.map((r) => ({ name: r.name, ok: r.ok, outcome: r.outcome, error: r.error?.message })));
    } else {
      for (const r of results) {
        if (r.ok) process.stdout.write(`${r.name}${r.outcome === "absent" ? " (absent)" : ""}\n`);
        else process.stderr.write(`error: ${r.error!.message}\n`);
      }
    }
    const failed = results.find((r) => !r.ok);
    if (failed) process.exitCode = failed.error!.exitCode;
  },
});
