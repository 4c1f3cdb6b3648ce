import { defineCommand } from "citty";
import { UsageError } from "../../core/errors.ts";
import { intFlag, secondsFlag } from "../flags.ts";
import { helperDeps, newInterfaceId, parseFd } from "./_host-port.ts";
import { brokerHelperDeps } from "./_broker-port.ts";

export default defineCommand({
  meta: {
    name: "helper",
    description: "Connect one VM to a network (vmnet-helper compatible)",
    details: `Forwards Ethernet frames between a unix datagram socket (--fd from a socketpair, or --socket;
one frame per datagram, as vfkit, krunkit, libkrun and QEMU -netdev dgram use) and a TAP on the
network's bridge. Prints one JSON line on stdout when ready, with vmnet-helper's keys and vmlan's
own. SIGTERM or SIGINT stop it and release the address unless --keep.`,
    examples: [
      "vmlan helper --socket /tmp/vm1.sock --network default --id vm1",
      "vmlan helper --fd 3 --network lab --id vm1 --keep  # as vmlan run starts it",
      "vmlan helper --socket /tmp/vm1.sock --network lab --broker  # without root, via the broker",
    ],
  },
  args: {
    fd: intFlag("Inherited, connected datagram socket fd (the VM's end is the other side of a socketpair)", 0, 2 ** 31 - 1),
    socket: { type: "string", valueHint: "PATH", description: "Bind a datagram socket at this path (0600, lock PATH.lock) and serve the first client" },
    network: { type: "string", valueHint: "NAME", description: "Network name", required: true },
    id: { type: "string", valueHint: "ID", description: "Interface id (stable: same id, same address and MAC; default: a new UUID)" },
    mac: { type: "string", valueHint: "MAC", description: "MAC address for the VM (default: derived from the id)" },
    "stats-interval": secondsFlag("Print counters as a JSON line on stderr every SECONDS", { positive: true, valueHint: "SECONDS" }),
    keep: { type: "boolean", description: "Keep the attachment when the helper exits" },
    broker: { type: "boolean", description: "Get the host side from `vmlan broker` (TAP fd over its socket; no CAP_NET_ADMIN needed)" },
    "broker-socket": { type: "string", valueHint: "PATH", description: "Broker socket (default: <state dir>/broker.sock or $VMLAN_BROKER_SOCKET)" },
  },
  async run({ args }) {
    if (args.fd === undefined && args.socket === undefined) throw new UsageError(`missing argument: either --fd or --socket is required`);
    if (args.fd !== undefined && args.socket !== undefined) throw new UsageError(`conflicting arguments: --fd and --socket are mutually exclusive`);
    const fd = args.fd === undefined ? undefined : parseFd(args.fd, "--fd");
    let statsInterval: number | undefined;
    if (args["stats-interval"] !== undefined) {
      statsInterval = Number(args["stats-interval"]);
      if (!(statsInterval > 0)) throw new UsageError(`invalid --stats-interval "${args["stats-interval"]}": expected seconds > 0`);
    }
    const { runHelper } = await import("../../datapath/helper.ts");
    const id = args.id ?? newInterfaceId();
    const deps = args.broker ? await brokerHelperDeps(args.network, id, args.mac, Boolean(args.keep), args["broker-socket"]) : await helperDeps(args.network, id, args.mac);
    const code = await runHelper({ fd, socket: args.socket, statsInterval, keep: Boolean(args.keep) }, deps);
    process.exit(code);
  },
});
