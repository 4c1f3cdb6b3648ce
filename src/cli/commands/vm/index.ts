import { defineCommand } from "citty";

export default defineCommand({
  meta: {
    name: "vm",
    description: "Run Linux guests on vmlan networks",
    details: `QEMU on Linux (KVM when it really works, else TCG), Virtualization.framework on macOS. The
built-in guest image (Debian's cloud kernel and busybox) is built on first use.`,
    examples: ["vmlan vm run --network default --name web", "vmlan vm ls", "vmlan vm stop web"],
  },
  subCommands: {
    run: () => import("./run.ts").then((m) => m.default),
    list: () => import("./list.ts").then((m) => m.default),
    stop: () => import("./stop.ts").then((m) => m.default),
    image: () => import("./image.ts").then((m) => m.default),
    "_vz-host": () => import("./_vz-host.ts").then((m) => m.default),
  },
});
