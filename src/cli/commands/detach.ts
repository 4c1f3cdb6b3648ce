import { defineCommand } from "citty";
import { formatArgs } from "./_args.ts";
import { formatFrom, printJson } from "../output.ts";
import { openStore } from "../context.ts";
import { LeaseService } from "../../core/leases.ts";
import { ownerPolicy } from "../owners.ts";
import { syncPortsAfter } from "../ports.ts";

export default defineCommand({
  meta: {
    name: "detach",
    description: "Release an interface's address",
    details: `The id keeps its claim: attached again, it gets the same address, unless another id needed it
because the pool had no never-used address left. Its published ports stop at once and come back
when it attaches again.`,
    examples: ["vmlan detach lab --id web", "vmlan detach lab --id web --if-exists"],
  },
  args: {
    network: { type: "positional", description: "Network name", required: true },
    id: { type: "string", valueHint: "ID", description: "Interface id", required: true },
    "if-exists": { type: "boolean", description: "Succeed when there is no such attachment" },
    ...formatArgs,
  },
  async run({ args }) {
    const store = openStore();
    const a = new LeaseService(store, undefined, ownerPolicy).detach(args.network, args.id, { ifExists: args["if-exists"] });
    if (a) await syncPortsAfter(store); // its published ports stop with it
    if (formatFrom(args) === "json") printJson({ network: args.network, id: args.id, released: a !== null, address: a?.address ?? null });
    else process.stdout.write(a ? `released ${a.address ?? a.mac} (${a.id}) on ${a.network}\n` : `no attachment "${args.id}" on ${args.network}\n`);
  },
});
