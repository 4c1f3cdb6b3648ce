import { defineCommand } from "citty";
import { printCompletion } from "../completion.ts";

/** Normally answered by main.ts before citty loads; here for --help and the command map. */
export default defineCommand({
  meta: { name: "completion", description: "Print a shell completion script: bash, zsh or fish" },
  args: { shell: { type: "positional", description: "bash | zsh | fish", required: false } },
  run({ args }) {
    process.exitCode = printCompletion([args.shell ?? "bash"]);
  },
});
