import { defineCommand } from "citty";
import { UsageError } from "../../core/errors.ts";
import { checkInterfaceId } from "../../core/input-checks.ts";
import { applyOption, finishRequest, newRequest, type HelperRequest } from "../compat/helper-options.ts";
import { printHelperVersion } from "../compat/vmnet-helper.ts";

/** vmnet-helper's options in its own order, so the first bad one is the one reported, as there. */
const VMNET_VALUE_OPTIONS = ["fd", "socket", "interface-id", "operation-mode", "shared-interface", "start-address", "end-address", "subnet-mask", "network", "stats-interval"] as const;
const VMNET_FLAGS = ["enable-tso", "enable-checksum-offload", "enable-isolation", "verbose"] as const;

export default defineCommand({
  meta: {
    name: "helper",
    description: "Connect one VM to a network (vmnet-helper's command line)",
    details: `Forwards Ethernet frames between a unix datagram socket (--fd from a socketpair, or --socket;
one frame per datagram, as vfkit, krunkit, libkrun and QEMU -netdev dgram use) and a TAP on the
network's bridge. Prints one JSON line on stdout when ready, with every key vmnet-helper prints and
vmlan's own. SIGTERM or SIGINT stop it and release the address unless --keep.

Every vmnet-helper option is accepted with its meaning. Without --network, --operation-mode shared
(the default) is the network "default", host is the network "host", and --start-address,
--end-address and --subnet-mask choose the network with that gateway whose guests get start + 1 to
end (created on first use); those networks are brought up on demand. Details: docs/compat.md.`,
    examples: [
      "vmlan helper --socket /tmp/vm1.sock --network default --id vm1",
      "vmlan helper --fd 3 --interface-id 2835E074-9892-4A79-AFFB-7E41D2605678  # as vmnet-helper",
      "vmlan helper --socket /tmp/vm2.sock --start-address 192.168.200.1 --end-address 192.168.200.50 --subnet-mask 255.255.255.0",
      "vmlan helper --socket /tmp/vm1.sock --network lab --broker  # without root, via the broker",
    ],
  },
  args: {
    fd: { type: "string", valueHint: "FD", alias: "f", description: "Inherited, connected datagram socket fd (the VM's end is the other side of a socketpair)" },
    socket: { type: "string", valueHint: "PATH", alias: "s", description: "Bind a datagram socket at this path (0600, lock PATH.lock) and serve the first client" },
    network: { type: "string", valueHint: "NAME", description: "vmlan network (`shared` and `host`: the built-in ones, when no network has that name)" },
    "interface-id": { type: "string", valueHint: "UUID", alias: "i", description: "Stable interface id, a UUID: same id, same MAC and address" },
    id: { type: "string", valueHint: "ID", description: "Interface id, any name (vmlan's form of --interface-id; default: a new UUID)" },
    mac: { type: "string", valueHint: "MAC", description: "MAC address for the VM (default: derived from the id)" },
    "operation-mode": { type: "string", valueHint: "MODE", description: "shared (default), host or bridged, when --network is not given" },
    "start-address": { type: "string", valueHint: "ADDR", description: "Gateway of the network; guests get the next address up to --end-address" },
    "end-address": { type: "string", valueHint: "ADDR", description: "Last address handed out to guests" },
    "subnet-mask": { type: "string", valueHint: "MASK", description: "Subnet mask of the network, e.g. 255.255.255.0" },
    "shared-interface": { type: "string", valueHint: "NAME", description: "Host interface for --operation-mode bridged" },
    "enable-isolation": { type: "boolean", description: "This guest cannot reach other isolated guests, only the gateway and beyond" },
    "enable-tso": { type: "boolean", description: "Accepted; TCP segmentation offload (macOS: vmnet's; Linux: reported off for now)" },
    "enable-checksum-offload": { type: "boolean", description: "Accepted; checksum offload (macOS: vmnet's; Linux: reported off for now)" },
    "list-shared-interfaces": { type: "boolean", description: "Print the host interfaces bridged mode can use and exit" },
    "stats-interval": { type: "string", valueHint: "SECONDS", description: "Print counters (vmnet-helper's [stats] line) on stderr every S seconds" },
    verbose: { type: "boolean", alias: "v", description: "Debug lines on stderr" },
    version: { type: "boolean", description: "Print the vmnet-helper interface version this helper implements and exit" },
    keep: { type: "boolean", description: "Keep the attachment when the helper exits" },
    "allow-spoofing": { type: "boolean", description: "No anti-spoofing rules on the port (stored with the attachment): the VM may send from any MAC or address" },
    broker: { type: "boolean", description: "Get the host side from `vmlan broker` (TAP fd over its socket; no CAP_NET_ADMIN needed)" },
    "broker-socket": { type: "string", valueHint: "PATH", description: "Broker socket (default: /run/vmlan/broker.sock; see ENVIRONMENT in vmlan --help)" },
  },
  async run({ args }) {
    if (args.version) return printHelperVersion();
    if (args["list-shared-interfaces"]) {
      const { listSharedInterfaces } = await import("../compat/bridged.ts");
      for (const name of await listSharedInterfaces()) process.stdout.write(`${name}\n`);
      return;
    }
    const r: HelperRequest = newRequest();
    for (const name of VMNET_VALUE_OPTIONS) if (args[name] !== undefined) applyOption(r, name, args[name]);
    for (const name of VMNET_FLAGS) if (args[name]) applyOption(r, name);
    if (args.id !== undefined) {
      if (r.interfaceId !== undefined) throw new UsageError("conflicting arguments: --id and --interface-id name the same thing; give one");
      r.interfaceId = checkInterfaceId(args.id);
    }
    Object.assign(r, { mac: args.mac, keep: Boolean(args.keep), broker: Boolean(args.broker), brokerSocket: args["broker-socket"] });
    if (args["allow-spoofing"]) r.allowSpoofing = true; // absent: what the attachment has stored
    finishRequest(r);
    const { runHelperRequest } = await import("../compat/helper-run.ts");
    process.exit(await runHelperRequest(r, "vmlan"));
  },
});
