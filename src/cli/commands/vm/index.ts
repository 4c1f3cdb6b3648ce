import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "vm", description: "Run Linux guests (QEMU) on vmlan networks" },
  subCommands: {
    run: () => import("./run.ts").then((m) => m.default),
    list: () => import("./list.ts").then((m) => m.default),
    stop: () => import("./stop.ts").then((m) => m.default),
    image: () => import("./image.ts").then((m) => m.default),
    "_vz-host": () => import("./_vz-host.ts").then((m) => m.default),
  },
});
