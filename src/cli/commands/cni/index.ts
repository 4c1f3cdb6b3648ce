import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "cni", description: "Use vmlan networks from container runtimes (vmlan is a CNI plugin)" },
  subCommands: {
    config: () => import("./config.ts").then((m) => m.default),
  },
});
