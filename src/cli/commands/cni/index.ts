import { defineCommand } from "citty";

export default defineCommand({
  meta: {
    name: "cni",
    description: "Containers on vmlan networks (CNI)",
    details: `The vmlan binary is a CNI plugin: linked or copied as \`vmlan\` into a runtime's plugin
directory (/usr/lib/cni, /opt/cni/bin), it answers the runtime when started with CNI_COMMAND set and
no arguments. As the main plugin it gives a container a veth on the network's bridge with vmlan's
address, MAC, routes and DNS; as IPAM it serves the reference bridge, macvlan and ipvlan. See
docs/cni.md.`,
    examples: [
      "vmlan cni config lab > /etc/cni/net.d/50-lab.conflist",
      "vmlan cni config lab --plugin bridge  # the reference bridge with vmlan as IPAM",
    ],
  },
  subCommands: {
    config: () => import("./config.ts").then((m) => m.default),
  },
});
