import { defineCommand } from "citty";

export default defineCommand({
  meta: {
    name: "broker",
    description: "Share named networks with many VMs (a daemon)",
    details: `The first client that acquires a network brings it up. The broker hands out TAP fds over its
socket, so clients need no CAP_NET_ADMIN; it counts holders per connection (a client that dies is
released) and takes a network down --idle-timeout seconds after its last holder left.
\`vmlan broker\` alone runs it (= \`vmlan broker run\`).`,
    examples: [
      "vmlan broker  # in the foreground, on /run/vmlan/broker.sock",
      "vmlan broker status",
      "vmlan system install  # the broker as a socket-activated systemd service",
    ],
  },
  default: "run",
  subCommands: {
    run: () => import("./run.ts").then((m) => m.default),
    status: () => import("./status.ts").then((m) => m.default),
    stop: () => import("./stop.ts").then((m) => m.default),
  },
});
