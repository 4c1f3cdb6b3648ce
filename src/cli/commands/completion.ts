import { defineCommand } from "citty";
import { printCompletion } from "../completion.ts";

/** Normally answered by main.ts before citty loads; here for --help and the command map. */
export default defineCommand({
  meta: {
    name: "completion",
    description: "Print a shell completion script",
    details: `bash: add \`eval "$(vmlan completion bash)"\` to ~/.bashrc. zsh: write it to a folder on $fpath as
_vmlan. fish: \`vmlan completion fish | source\`, or write it to ~/.config/fish/completions/vmlan.fish.`,
    examples: ["vmlan completion bash > /etc/bash_completion.d/vmlan", "vmlan completion zsh > ~/.zfunc/_vmlan"],
  },
  args: { shell: { type: "positional", valueHint: "bash|zsh|fish", description: "The shell", required: false } },
  run({ args }) {
    process.exitCode = printCompletion([args.shell ?? "bash"]);
  },
});
