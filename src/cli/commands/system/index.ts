import { defineCommand } from "citty";

export default defineCommand({
  meta: {
    name: "system",
    description: "Bring all networks up or down; install the broker",
    examples: ["vmlan system start", "vmlan system status", "vmlan system stop"],
  },
  subCommands: {
    start: () => import("./start.ts").then((m) => m.default),
    status: () => import("./status.ts").then((m) => m.default),
    stop: () => import("./stop.ts").then((m) => m.default),
    prune: () => import("./prune.ts").then((m) => m.default),
    install: () => import("./install.ts").then((m) => m.default),
    uninstall: () => import("./uninstall.ts").then((m) => m.default),
  },
});
