import { defineCommand } from "citty";
import { UsageError } from "../../core/errors.ts";
import { ipv4Range } from "../../core/ipam/subnet.ts";
import { groupId, switchDeps } from "./_switch-deps.ts";

/** Socket mode with --socket-group (socket_vmnet's chmod 0770), and without: only the owner. */
const GROUP_MODE = 0o770;
const OWNER_MODE = 0o600;

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
  -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:01`,
    examples: [
      "vmlan switch --socket /run/vmlan-lab.sock --network lab",
      "vmlan switch --socket /var/run/socket_vmnet --socket-group staff -p /run/sw.pid",
    ],
  },
  args: {
    socket: { type: "string", valueHint: "PATH", description: "Listen here (only a dead switch's socket is replaced)", required: true },
    network: { type: "string", valueHint: "NAME", description: "Network name", default: "default" },
    "socket-group": { type: "string", valueHint: "GROUP", description: "Group that may connect (socket 0770; default: owner only, 0600)" },
    pidfile: { type: "string", alias: "p", valueHint: "PATH", description: "Write the pid here, locked, removed at exit" },
    verbose: { type: "boolean", alias: "v", description: "Debug lines on stderr" },
  },
  async run({ args }) {
    if (!args.socket) throw new UsageError(`invalid --socket "": expected a path`);
    const gid = args["socket-group"] === undefined ? null : groupId(args["socket-group"], "--socket-group");
    const { network, deps } = await switchDeps(args.network);
    const { runSwitch } = await import("../../switch/switch.ts");
    const { SwitchLog } = await import("../../switch/log.ts");
    const maxPacketSize = network.mtu + 14;
    const { mask, end } = ipv4Range(network.gateway, Number(network.subnet.split("/")[1]));
    const ready = {
      vmnet_start_address: network.gateway, vmnet_end_address: end, vmnet_subnet_mask: mask,
      vmnet_mtu: network.mtu, vmnet_max_packet_size: maxPacketSize,
      vmlan_socket: args.socket, vmlan_network: network.name, vmlan_bridge: network.bridge,
      vmlan_gateway: network.gateway, vmlan_subnet: network.subnet, vmlan_pid: process.pid,
    };
    const code = await runSwitch({
      path: args.socket, gid, mode: gid === null ? OWNER_MODE : GROUP_MODE, pidfile: args.pidfile, maxPacketSize,
      onReady: () => process.stdout.write(`${JSON.stringify(ready)}\n`),
    }, deps, new SwitchLog("vmlan", Boolean(args.verbose)));
    process.exit(code);
  },
});
