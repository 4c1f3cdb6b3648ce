import { defineCommand } from "citty";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { UsageError } from "../../../core/errors.ts";
import { networkService } from "../../context.ts";
import { checkedFlag, intFlag, pattern, secondsFlag } from "../../flags.ts";
import { MACH_SERVICE_RE, VMLAN_MACH_SERVICE } from "../../../core/resources/mach-services.ts";

declare const VMLAN_TARGET: string | undefined;

/** gid of a group name or number; the "vmlan" group when present, else root's (0). */
function resolveGroup(group: string | undefined): number {
  if (group !== undefined && /^\d+$/.test(group)) return Number(group);
  const name = group ?? "vmlan";
  const line = readFileSync("/etc/group", "utf8").split("\n").find((l) => l.split(":")[0] === name);
  if (line) return Number(line.split(":")[2]);
  if (group !== undefined) throw new UsageError(`unknown group "${group}"`);
  return 0;
}

export default defineCommand({
  meta: {
    name: "run",
    description: "Run the broker in the foreground",
    details: `Listens on a unix socket, or on the one systemd passes (socket activation). On macOS 26 it is also
an XPC Mach service speaking vmnet-broker's protocol: VMs and helpers in other processes get a
network's serialization from it and attach natively (launchd must advertise the name: vmlan system
install does). --vmnet-broker-name com.github.nirs.vmnet-broker serves vmnet-broker's clients too.`,
    examples: ["vmlan broker run --idle-timeout 30", "vmlan broker run --socket /run/vmlan.sock --group kvm --exit-idle 600",
      "vmlan broker run --vmnet-broker-name com.github.nirs.vmnet-broker  # macOS 26: vmnet-helper --network works against vmlan"],
  },
  args: {
    socket: { type: "string", valueHint: "PATH", description: "Socket path (default: /run/vmlan/broker.sock; see ENVIRONMENT in vmlan --help)" },
    "idle-timeout": secondsFlag("Seconds a network stays up after its last user leaves", { default: "120", valueHint: "SECONDS" }),
    "exit-idle": secondsFlag("Exit after this many seconds with no clients and no networks (on-demand start)", { valueHint: "SECONDS" }),
    mode: checkedFlag("Socket file mode (octal)", pattern(/^0?[0-7]{3}$/, "an octal mode like 0660"), { default: "0660", valueHint: "MODE" }),
    group: { type: "string", valueHint: "GROUP", description: "Group that may connect besides root (default: vmlan if it exists, else root)" },
    "max-connections": intFlag("Open connections in all (default: the fd limit less 32)", 1, 1_000_000, { valueHint: "N" }),
    "max-connections-per-user": intFlag("Open connections per uid (default: 128, at most half of the above)", 1, 1_000_000, { valueHint: "N" }),
    "mach-service": checkedFlag("macOS 26: the XPC Mach service VMs and helpers get networks from (default dev.vmlan.broker)", pattern(MACH_SERVICE_RE, "a Mach service name like dev.vmlan.broker"), { valueHint: "NAME" }),
    "vmnet-broker-name": checkedFlag("macOS 26: also serve under this name, for vmnet-broker's clients (com.github.nirs.vmnet-broker)", pattern(MACH_SERVICE_RE, "a Mach service name like com.github.nirs.vmnet-broker"), { valueHint: "NAME" }),
  },
  async run({ args }) {
    const ms = (val: string | undefined) => (val === undefined ? null : Number(val) * 1000); // checked by the flags
    const gid = resolveGroup(args.group);
    const { BrokerServer } = await import("../../../broker/server.ts");
    const { BrokerService } = await import("../../../broker/service.ts");
    const { defaultBrokerSocket } = await import("../../../broker/client.ts");
    const networks = await networkService(true);
    networks.platform!.checkPrivileges();
    const log = (m: string) => process.stderr.write(`${new Date().toISOString()} broker: ${m}\n`);
    const taps = "openTap" in networks.platform! ? (networks.platform as unknown as import("../../../platform/types.ts").TapOpener) : null;
    const { ownerPolicy, selfOwner } = await import("../../owners.ts");
    const owners = { self: selfOwner(), policy: ownerPolicy };
    const activated = process.env.LISTEN_FDS === "1" && process.env.LISTEN_PID === String(process.pid);
    const path = resolve(args.socket ?? defaultBrokerSocket());
    // What the previous broker on this socket brought up, so it is torn down after idle here too.
    const { OwnedNetworks } = await import("../../../broker/owned.ts");
    const owned = new OwnedNetworks(networks.store.path === ":memory:" ? null : dirname(networks.store.path), path, log);
    const service = new BrokerService(networks, taps, { idleMs: ms(args["idle-timeout"])!, exitIdleMs: ms(args["exit-idle"]), gid, owners }, log, undefined, owned);
    const limits = {
      ...(args["max-connections"] ? { maxConnections: Number(args["max-connections"]) } : {}),
      ...(args["max-connections-per-user"] ? { connectionsPerUser: Number(args["max-connections-per-user"]) } : {}),
    };
    const server = new BrokerServer({ path, mode: parseInt(args.mode, 8), gid, ...limits, ...(activated ? { inheritedFd: 3 } : {}) }, service, log);
    server.listen();
    // macOS 26: the XPC Mach service(s) beside the socket. The literal test lets a Linux binary drop the
    // XPC code (from source it stays, for the darwin double: VMLAN_TARGET is defined only by the build).
    const names = [args["mach-service"] ?? VMLAN_MACH_SERVICE, ...(args["vmnet-broker-name"] ? [args["vmnet-broker-name"]] : [])];
    const xpc = process.platform === "darwin" || typeof VMLAN_TARGET === "undefined"
      ? await (await import("./_xpc.ts")).startXpcService({ service, networks, names, gid, log })
      : null;
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => server.stop());
    log(`listening on ${activated ? "fd 3 (socket activation)" : path}, pid ${process.pid}`);
    await service.adopt(owned.load());
    await server.run();
    xpc?.stop();
    await xpc?.done;
    await service.shutdown();
    log("stopped");
  },
});
