/**
 * Shell completion scripts. The command tree is written out here (not loaded from citty) so
 * `vmlan completion` stays on the fast path; test/unit/cli/completion.test.ts checks it matches
 * the real command map.
 */
export const COMPLETION_TREE: Record<string, string[]> = {
  network: ["create", "list", "ls", "inspect", "rm", "prune", "uplinks"],
  attach: [],
  detach: [],
  attachments: [],
  port: ["add", "ls", "rm"],
  helper: [],
  run: [],
  switch: [],
  broker: ["run", "status", "stop"],
  system: ["start", "status", "stop", "prune", "install", "uninstall"],
  apply: [],
  export: [],
  vm: ["run", "list", "stop", "image"],
  demo: [],
  doctor: [],
  services: ["run", "status"],
  dns: [],
  cni: ["config"],
  version: [],
  completion: ["bash", "zsh", "fish"],
  help: [],
  compat: ["install", "uninstall"],
};

const top = Object.keys(COMPLETION_TREE);

function bash(): string {
  const cases = top
    .filter((c) => COMPLETION_TREE[c]!.length)
    .map((c) => `    ${c}) COMPREPLY=($(compgen -W "${COMPLETION_TREE[c]!.join(" ")}" -- "$cur")) ;;`)
    .join("\n");
  return `# vmlan bash completion: eval "$(vmlan completion bash)"
_vmlan() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=($(compgen -W "${top.join(" ")} --help" -- "$cur")); return; fi
  if [ "$COMP_CWORD" -eq 2 ]; then
    case "\${COMP_WORDS[1]}" in
${cases}
    esac
  fi
}
complete -F _vmlan vmlan
`;
}

function zsh(): string {
  return `#compdef vmlan
# vmlan zsh completion: eval "$(vmlan completion zsh)"
autoload -U +X bashcompinit && bashcompinit
${bash()}`;
}

function fish(): string {
  const lines = [`# vmlan fish completion: vmlan completion fish | source`, `complete -c vmlan -f`];
  for (const c of top) {
    lines.push(`complete -c vmlan -n "__fish_use_subcommand" -a ${c}`);
    for (const s of COMPLETION_TREE[c]!) lines.push(`complete -c vmlan -n "__fish_seen_subcommand_from ${c}" -a ${s}`);
  }
  return lines.join("\n") + "\n";
}

/** The completion script for a shell (the release artifacts ship all three). */
export const COMPLETION_SCRIPTS: Record<"bash" | "zsh" | "fish", () => string> = { bash, zsh, fish };

/** Prints the script for a shell; returns the exit code (2 for an unknown shell). */
export function printCompletion(args: string[]): number {
  const shell = args.find((a) => !a.startsWith("-")) ?? "bash";
  const gen = (COMPLETION_SCRIPTS as Record<string, () => string>)[shell];
  if (!gen) {
    process.stderr.write(`error: unknown shell "${shell}": use bash, zsh or fish\n`);
    return 2;
  }
  process.stdout.write(gen());
  return 0;
}
