import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "broker", description: "The daemon that owns named networks and shares them with many VMs (`vmlan broker` = `vmlan broker run`)" },
  default: "run",
  subCommands: {
    run: () => import("./run.ts").then((m) => m.default),
    status: () => import("./status.ts").then((m) => m.default),
    stop: () => import("./stop.ts").then((m) => m.default),
  },
});
