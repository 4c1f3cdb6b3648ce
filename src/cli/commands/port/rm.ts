import { defineCommand } from "citty";
import { formatArgs, positionals } from "../_args.ts";
import { formatFrom, printJson } from "../../output.ts";
import { UsageError } from "../../../core/errors.ts";
import { parsePortSpecs } from "../../../core/ports/spec.ts";
import { portsChanged, portService } from "../../ports.ts";
import { portRecord } from "../../display/port.ts";

export default defineCommand({
  meta: {
    name: "rm",
    description: "Stop publishing an attachment's ports",
    usage: "NETWORK --id ID (SPEC...|--all)",
    details: `A SPEC matches a published port by host address, host ports and protocol (the guest part,
if given, is not compared). The kernel rules go at once; --all removes every port of the attachment.`,
    examples: ["vmlan port rm default --id web 8080:80", "vmlan port rm default --id web --all"],
  },
  args: {
    network: { type: "positional", valueHint: "NETWORK", description: "Network name", required: true },
    id: { type: "string", valueHint: "ID", description: "Interface id (the attachment)", required: true },
    spec: { type: "positional", valueHint: "SPEC...", description: "Port spec(s) as given to port add", required: false },
    all: { type: "boolean", description: "Every port of the attachment" },
    ...formatArgs,
  },
  async run({ args }) {
    const values = positionals(args).slice(1);
    if (args.all && values.length > 0) throw new UsageError("give SPEC... or --all, not both");
    if (!args.all && values.length === 0) throw new UsageError(`missing SPEC: use \`vmlan port rm ${args.network} --id ${args.id} 8080:80\` or --all`);
    const svc = await portService();
    const removed = await svc.remove(args.network, args.id, args.all ? "all" : parsePortSpecs(values, "SPEC"));
    await portsChanged();
    if (formatFrom(args) === "json") return printJson({ removed: removed.map(portRecord) });
    if (removed.length === 0) process.stdout.write(`"${args.id}" on ${args.network} publishes no ports\n`);
    for (const p of removed) process.stdout.write(`removed ${p.spec} (${p.id} on ${p.network})\n`);
  },
});
