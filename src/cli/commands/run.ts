import { defineCommand } from "citty";
import { UsageError } from "../../core/errors.ts";
import { repeated } from "./_args.ts";
import { networkService } from "../context.ts";
import { attachLease, bridgeOf, newInterfaceId, releaseLease, tapOpener } from "./_host-port.ts";
import { brokerSession, type BrokerSession } from "./_broker-port.ts";
import type { HelperLease } from "../../datapath/helper.ts";

export default defineCommand({
  meta: {
    name: "run",
    description:
      "Run a VM command connected to one or more networks: `vmlan run --network NAME [--network NAME2] -- COMMAND ARGS...`. " +
      "Each network gets a helper on a socketpair; the VM's ends are fds 3, 4, ... of COMMAND (one Ethernet frame per datagram, " +
      "e.g. qemu -netdev dgram,id=n0,local.type=fd,local.str={fd}). With --native the fds are TAPs instead (qemu -netdev tap,fd={fd}). " +
      "COMMAND gets VMLAN_FD, VMLAN_MAC, VMLAN_IP, VMLAN_GATEWAY, VMLAN_PREFIX_LENGTH, VMLAN_TAP, VMLAN_NETWORK (and _0, _1, ... per network), " +
      "and {fd} {mac} {ip} {gateway} {prefix} {tap} {network} ({fd1}, {mac1}, ... for later networks) are replaced in its arguments. " +
      "When either side exits the other is stopped (SIGTERM, SIGKILL after 5 s); vmlan exits with COMMAND's status",
  },
  args: {
    network: { type: "string", description: "Network name (repeatable; fds 3, 4, ... in order)", required: true },
    id: { type: "string", description: "Interface id on every network (default: a new UUID)" },
    native: { type: "boolean", description: "No helper: pass a TAP fd on the network's bridge to COMMAND" },
    keep: { type: "boolean", description: "Keep the attachments after exit" },
    broker: { type: "boolean", description: "Join the networks through `vmlan broker` (it brings them up and hands out TAPs)" },
    "broker-socket": { type: "string", description: "Broker socket (default: <state dir>/broker.sock or $VMLAN_BROKER_SOCKET)" },
  },
  async run({ args, rawArgs }) {
    const dd = rawArgs.indexOf("--");
    const command = dd < 0 ? [] : rawArgs.slice(dd + 1);
    if (command.length === 0) throw new UsageError("missing COMMAND: use `vmlan run --network NAME -- COMMAND ARGS...`");
    const networks = repeated(rawArgs, "network");
    const id = args.id ?? newInterfaceId();
    const native = Boolean(args.native);
    const keep = Boolean(args.keep);
    const broker = Boolean(args.broker);
    const brokerSocket = args["broker-socket"];
    // Every network must be up before anything starts (through the broker, it brings them up).
    const svc = broker ? null : await networkService(true);
    if (svc) for (const n of networks) await bridgeOf(n, svc);
    const { supervise, selfArgv } = await import("../../datapath/supervise.ts");
    let deps = null;
    if (native && svc) {
      const openTap = await tapOpener(svc);
      deps = { attach: (n: string) => attachLease(n, id), release: releaseLease, openTap: (n: string) => openTap(n) };
    } else if (native) {
      // Through the broker: leases and TAPs both come from it (no store access here).
      const sessions = new Map<string, BrokerSession>();
      for (const n of networks) sessions.set(n, await brokerSession(n, brokerSocket));
      deps = { attach: (n: string) => sessions.get(n)!.attach(id, { keep }), release: (l: HelperLease) => sessions.get(l.network)!.release(l), openTap: (n: string) => sessions.get(n)!.openHostPort() };
    }
    const helperArgs = broker ? ["--broker", ...(brokerSocket ? ["--broker-socket", brokerSocket] : [])] : [];
    const code = await supervise({ networks, id, keep, command, self: selfArgv(), helperArgs }, deps);
    process.exit(code);
  },
});
