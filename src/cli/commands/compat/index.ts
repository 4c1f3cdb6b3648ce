import { defineCommand } from "citty";

export default defineCommand({
  meta: {
    name: "compat",
    description: "Install vmlan under the names of the programs it replaces",
    details: `Started through a link named vmnet-helper or vmnet-run, the binary is that program: its
options, output, exit codes and fds (docs/compat.md). These commands lay and remove the links.`,
    examples: ["vmlan compat install", "vmlan compat install --prefix /usr/local", "vmlan compat uninstall"],
  },
  subCommands: {
    install: () => import("./install.ts").then((m) => m.default),
    uninstall: () => import("./uninstall.ts").then((m) => m.default),
  },
});
