import { defineCommand } from "citty";
import { UsageError } from "../../core/errors.ts";
import { positionals } from "./_args.ts";
import { root } from "../root.ts";
import { resolveChain } from "../tree.ts";
import { helpText } from "../help/index.ts";

export default defineCommand({
  meta: {
    name: "help",
    description: "Show the help of a command (as COMMAND --help)",
    usage: "[COMMAND [SUB-COMMAND]]",
    examples: ["vmlan help network create", "vmlan help vm  # the vm commands: run, list, stop, image"],
  },
  args: {
    command: { type: "positional", description: "The command, and its sub-command, e.g. `network create`", valueHint: "COMMAND", required: false },
  },
  async run({ args }) {
    const words = positionals(args);
    const { cmd, path, rest } = await resolveChain(root, words, { defaults: false });
    const unknown = rest.find((a) => !a.startsWith("-"));
    if (unknown !== undefined) throw new UsageError(`unknown command "${["vmlan", ...path, unknown].join(" ")}"; see vmlan --help`);
    process.stdout.write(await helpText(cmd, path));
  },
});
