import { defineCommand } from "citty";

export default defineCommand({
  meta: {
    name: "network",
    description: "Create, list, inspect and remove networks",
    details: `A network is a bridge (vl-NAME on Linux) with its own subnet, gateway and firewall table:
shared mode reaches the outside through NAT, host mode only the host and the network's guests.
Networks never reach each other.`,
    examples: [
      "vmlan network create lab --subnet 10.70.0.0/24 --mode host",
      "vmlan network ls",
      "vmlan network inspect lab",
      "vmlan network rm lab",
    ],
  },
  subCommands: {
    create: () => import("./create.ts").then((m) => m.default),
    list: () => import("./list.ts").then((m) => m.default),
    inspect: () => import("./inspect.ts").then((m) => m.default),
    rm: () => import("./rm.ts").then((m) => m.default),
    prune: () => import("./prune.ts").then((m) => m.default),
    uplinks: () => import("./uplinks.ts").then((m) => m.default),
  },
});
