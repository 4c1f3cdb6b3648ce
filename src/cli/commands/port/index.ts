import { defineCommand } from "citty";

export default defineCommand({
  meta: {
    name: "port",
    description: "Publish guest ports on the host",
    details: `A published port forwards a host port (or range) to an attachment's guest, in the kernel's
datapath on Linux (nftables DNAT in the network's table). SPEC is
[HOST_IP:]HOST_PORT[-END]:GUEST_PORT[-END][/tcp|/udp], as docker writes it; IPv6 host addresses
go in brackets. The host address defaults to 127.0.0.1: publishing to the LAN is an explicit
0.0.0.0: (or [::]:, or one of the host's addresses).

Ports belong to the attachment: stored with it, in effect while it is attached, back when the same
id attaches again, and gone with it. \`vmlan run -p\` and \`vmlan vm run -p\` publish them too.`,
    examples: [
      "vmlan port add default --id web 8080:80",
      "vmlan port add default --id web 0.0.0.0:8443:443 5353:53/udp",
      "vmlan port ls",
      "vmlan port rm default --id web 8080:80",
    ],
  },
  subCommands: {
    add: () => import("./add.ts").then((m) => m.default),
    ls: () => import("./ls.ts").then((m) => m.default),
    rm: () => import("./rm.ts").then((m) => m.default),
  },
});
