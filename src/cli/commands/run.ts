import { defineCommand } from "citty";
import { UsageError } from "../../core/errors.ts";
import { checkNetworksExist, resolveProgram } from "../../core/input-checks.ts";
import { checkInterfaceId } from "../../core/resources/interface-id.ts";
import { repeated } from "./_args.ts";
import { networkService } from "../context.ts";
import { attachLease, checkHostSide, newInterfaceId, releaseLease, tapOpener } from "./_host-port.ts";
import { brokerSession, type BrokerSession } from "./_broker-port.ts";
import type { HelperLease } from "../../datapath/helper.ts";
import { publishArg, publishSpecs } from "../publish.ts";
import { portService, portsChanged, syncPortsAfter } from "../ports.ts";

export default defineCommand({
  meta: {
    name: "run",
    description: "Run a VM command connected to networks",
    usage: "[OPTIONS] --network NAME... -- COMMAND [ARGS...]",
    details: `Each --network gets a \`vmlan helper\` on a socketpair, and COMMAND gets the VM ends as fds 3, 4, ...
(one Ethernet frame per datagram: qemu -netdev dgram,id=n0,local.type=fd,local.str={fd}). With
--native the fds are TAPs on the bridges instead (qemu -netdev tap,id=n0,fd={fd}).

COMMAND gets VMLAN_FD, VMLAN_MAC, VMLAN_IP, VMLAN_GATEWAY, VMLAN_PREFIX_LENGTH, VMLAN_TAP and
VMLAN_NETWORK (and _0, _1, ... per network), and {fd} {mac} {ip} {gateway} {prefix} {tap} {network}
in its arguments are replaced ({fd1}, {mac1}, ... for later networks). When either side exits the
other is stopped (SIGTERM, SIGKILL after 5 s); vmlan exits with COMMAND's status.

-p/--publish SPEC publishes a host port to the VM's address on the first network while it runs
(see \`vmlan port\`; from 127.0.0.1 unless SPEC names another address).`,
    examples: [
      "vmlan run --network default --id vm1 -- qemu-system-x86_64 -m 512 -kernel bzImage -netdev dgram,id=n0,local.type=fd,local.str={fd} -device virtio-net-pci,netdev=n0,mac={mac}",
      "vmlan run --network lab --native -- sh -c 'echo $VMLAN_IP on $VMLAN_TAP'",
      "vmlan run --network default --id web -p 8080:80 -- qemu-system-x86_64 -m 512 -kernel bzImage -netdev dgram,id=n0,local.type=fd,local.str={fd} -device virtio-net-pci,netdev=n0,mac={mac}",
    ],
  },
  args: {
    network: { type: "string", valueHint: "NAME", description: "Network name (repeatable; fds 3, 4, ... in order)", required: true },
    id: { type: "string", valueHint: "ID", description: "Interface id on every network (default: a new UUID)" },
    native: { type: "boolean", description: "No helper: pass a TAP fd on the network's bridge to COMMAND" },
    keep: { type: "boolean", description: "Keep the attachments after exit" },
    "allow-spoofing": { type: "boolean", description: "No anti-spoofing rules on the ports (stored with the attachments): the VM may send from any MAC or address" },
    broker: { type: "boolean", description: "Join the networks through `vmlan broker` (it brings them up and hands out TAPs)" },
    "broker-socket": { type: "string", valueHint: "PATH", description: "Broker socket (default: /run/vmlan/broker.sock; see ENVIRONMENT in vmlan --help)" },
    ...publishArg,
  },
  async run({ args, rawArgs }) {
    const dd = rawArgs.indexOf("--");
    const command = dd < 0 ? [] : rawArgs.slice(dd + 1);
    if (command.length === 0) throw new UsageError("missing COMMAND: use `vmlan run --network NAME -- COMMAND ARGS...`");
    const networks = repeated(rawArgs, "network");
    const native = Boolean(args.native);
    const keep = Boolean(args.keep);
    const broker = Boolean(args.broker);
    const brokerSocket = args["broker-socket"];
    const allowSpoofing = args["allow-spoofing"] ? true : undefined; // absent: what the attachment has stored
    // Everything is checked before a helper starts or an address is taken (issue #12 item 12).
    const id = args.id === undefined ? newInterfaceId() : checkInterfaceId(args.id);
    const program = resolveProgram("COMMAND", command[0]!);
    const store = broker ? await networkService(false) : null;
    if (store) checkNetworksExist(networks, (n) => store.store.getNetwork(n) !== null);
    // Every network must be up before anything starts (through the broker, it brings them up).
    const svc = broker ? null : await networkService(true);
    if (svc) for (const n of networks) await checkHostSide(n, svc);
    const publish = publishSpecs(rawArgs);
    if (publish.length > 0 && broker) throw new UsageError("--publish needs the store (the kernel rules are the host's); it does not go with --broker");
    const ports = publish.length > 0 ? await portService(svc!.store) : null;
    await ports?.preflight(networks[0]!, id, publish, { probe: true });
    const { supervise, selfArgv } = await import("../../datapath/supervise.ts");
    let deps = null;
    if (native && svc) {
      const openTap = await tapOpener(svc);
      // This process owns the leases (unless --keep): if it dies, they are released as orphans.
      deps = {
        attach: (n: string) => attachLease(n, id, undefined, keep ? null : { socket: null }, allowSpoofing),
        release: releaseLease,
        openTap: (n: string, lease: HelperLease) => openTap(n, lease),
      };
    } else if (native) {
      // Through the broker: leases and TAPs both come from it (no store access here).
      const sessions = new Map<string, BrokerSession>();
      for (const n of networks) sessions.set(n, await brokerSession(n, brokerSocket));
      deps = { attach: (n: string) => sessions.get(n)!.attach(id, { keep }), release: (l: HelperLease) => sessions.get(l.network)!.release(l), openTap: (n: string) => sessions.get(n)!.openFrameFd() };
    }
    const helperArgs = [...(broker ? ["--broker", ...(brokerSocket ? ["--broker-socket", brokerSocket] : [])] : []), ...(allowSpoofing ? ["--allow-spoofing"] : [])];
    const hooks = ports ? {
      attached: async () => { await ports.set(networks[0]!, id, publish); await portsChanged(); },
      ended: () => syncPortsAfter(svc!.store),
    } : {};
    const code = await supervise({ networks, id, keep, command, program, self: selfArgv(), helperArgs, ...hooks }, deps);
    process.exit(code);
  },
});
