import { defineCommand } from "citty";
import { UsageError } from "../../core/errors.ts";
import { positionals } from "./_args.ts";

const v = (description: string, valueHint: string) => ({ type: "string" as const, valueHint, description });

export default defineCommand({
  meta: {
    name: "switch",
    description: "Serve VMs on a stream socket (socket_vmnet compatible)",
    details: `Listens on a unix stream socket and speaks QEMU's stream framing (a 4-byte big-endian
length before each frame), as -netdev stream, -netdev socket,fd= and socket_vmnet's clients do.
Every client gets its own TAP on the network's bridge, so the kernel learns its MAC and delivers
only its traffic; its VM takes its address by DHCP, and the lease is released when it goes. A
client that breaks the framing is dropped alone. Prints one JSON line when listening;
SIGTERM, SIGINT or SIGHUP stop it. A QEMU client (give each VM its own MAC):

  -netdev stream,id=n0,addr.type=unix,addr.path=PATH
  -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:01

socket_vmnet's options choose the network as vmnet would (--vmnet-gateway: the network with that
gateway and mask, guests up to --vmnet-dhcp-end, created on first use); without them and without
--network it is the built-in default (or host, with --vmnet-mode host). Started by the name
socket_vmnet, the binary takes socket_vmnet's command line exactly (docs/compat.md).`,
    examples: [
      "vmlan switch --socket /run/vmlan-lab.sock --network lab",
      "vmlan switch --socket /var/run/socket_vmnet --socket-group staff -p /run/sw.pid",
      "vmlan switch --vmnet-gateway 192.168.105.1 --vmnet-dhcp-end 192.168.105.100 /var/run/socket_vmnet",
    ],
  },
  args: {
    socket: { type: "string", valueHint: "PATH", description: "Listen here (or as the one argument; only a dead switch's socket is replaced)" },
    network: { type: "string", valueHint: "NAME", description: "A vmlan network by name (default: from the --vmnet options)" },
    "socket-group": { type: "string", valueHint: "GROUP", description: "Group that may connect (socket 0770; default: owner only, 0600)" },
    pidfile: { type: "string", alias: "p", valueHint: "PATH", description: "Write the pid here, locked, removed at exit" },
    "vmnet-mode": { type: "enum", options: ["shared", "host", "bridged"], valueHint: "MODE", description: "shared (NAT, the default), host or bridged" },
    "vmnet-gateway": v("The network's gateway; the next address is the first guest's", "IP"),
    "vmnet-dhcp-end": v("Last address handed to guests (default: x.x.x.254)", "IP"),
    "vmnet-mask": v("Subnet mask (default: 255.255.255.0)", "MASK"),
    "vmnet-interface": v("Host interface of a bridged network", "IF"),
    "vmnet-interface-id": v("Accepted and echoed (each client is a port of its own)", "UUID"),
    "vmnet-network-identifier": v("Join the isolated host network of this id (no DHCP)", "UUID"),
    "vmnet-nat66-prefix": v("IPv6 /64 of a network created for --vmnet-gateway", "PREFIX::"),
    "vmnet-disable-dhcp": { type: "boolean", description: "No vmlan DHCP on a network created for these options" },
    verbose: { type: "boolean", alias: "v", description: "Debug lines on stderr" },
  },
  async run({ args }) {
    const { applySwitchOption, finishSwitchRequest, newSwitchRequest } = await import("../compat/socket-vmnet-options.ts");
    const { checkNamedNetwork } = await import("../compat/switch-network.ts");
    const rest = positionals(args);
    if (rest.length > 1) throw new UsageError(`unexpected arguments: ${rest.slice(1).map((a) => JSON.stringify(a)).join(" ")}`);
    if (args.socket !== undefined && rest.length) throw new UsageError(`conflicting arguments: the socket is given twice (--socket and ${JSON.stringify(rest[0])})`);
    const r = newSwitchRequest();
    r.socket = args.socket ?? rest[0];
    if (!r.socket) throw new UsageError("missing argument: --socket PATH (or the socket path as the one argument)");
    r.network = args.network;
    r.socketGroup = args["socket-group"];
    r.pidfile = args.pidfile;
    r.verbose = Boolean(args.verbose);
    for (const name of ["vmnet-mode", "vmnet-gateway", "vmnet-dhcp-end", "vmnet-mask", "vmnet-interface", "vmnet-interface-id", "vmnet-network-identifier", "vmnet-nat66-prefix"] as const) {
      const value = args[name];
      if (value !== undefined) applySwitchOption(r, name, value);
    }
    if (args["vmnet-disable-dhcp"]) applySwitchOption(r, "vmnet-disable-dhcp");
    checkNamedNetwork(r);
    const warnings = finishSwitchRequest(r);
    for (const w of warnings) process.stderr.write(`vmlan switch: warn: ${w}\n`);
    const { runSwitchRequest } = await import("../compat/switch-run.ts");
    process.exit(await runSwitchRequest(r, "vmlan"));
  },
});
