import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "network", description: "Create, list, inspect and remove networks" },
  subCommands: {
    create: () => import("./create.ts").then((m) => m.default),
    list: () => import("./list.ts").then((m) => m.default),
    inspect: () => import("./inspect.ts").then((m) => m.default),
    rm: () => import("./rm.ts").then((m) => m.default),
    prune: () => import("./prune.ts").then((m) => m.default),
  },
});
