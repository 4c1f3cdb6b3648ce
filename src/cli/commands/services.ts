import { defineCommand } from "citty";
import { formatArgs } from "./_args.ts";
import { formatFrom, printJson, renderRecord } from "../output.ts";
import { loadPlatform, openStore } from "../context.ts";
import { stateDir } from "../../core/store/paths.ts";
import { DAEMON_ARGS, removePidfile, servicesStatus } from "../../services/control.ts";
import { ownBinary } from "../../services/own-binary.ts";
import { reexec } from "../../process/reexec.ts";

const run = defineCommand({
  meta: {
    name: "run",
    description: "Run the DHCP and DNS daemon in the foreground",
    details: "`vmlan system start` starts the same daemon detached; this is for a service manager.",
    examples: ["vmlan services run"],
  },
  async run() {
    const { runDaemon } = await import("../../services/daemon.ts");
    const store = openStore();
    const { LeaseService } = await import("../../core/leases.ts");
    const { ownerPolicy } = await import("../owners.ts");
    const { PortService } = await import("../../core/ports/service.ts");
    const leases = new LeaseService(store, undefined, ownerPolicy);
    const tend = () => {
      const lines = leases.releaseOrphans().map((a) => `released orphaned attachment ${a.network}/${a.id} (pid ${a.pid} is gone)`);
      const swept = platform.sweepPorts?.() ?? 0;
      return swept ? [...lines, `removed the anti-spoofing rules of ${swept} port(s) that are gone`] : lines;
    };
    // macOS 26: each network is served on the interface vmnet made for it (no router advertisements: vmnet sends them).
    const { hostPlatform } = await import("../../platform/index.ts");
    const { hostSpec } = await import("../../core/network-config.ts");
    const platform = await hostPlatform();
    const where = platform.serviceInterface?.bind(platform);
    const onVmnet = where ? { hostInterface: (n: Parameters<typeof hostSpec>[0]) => where(hostSpec(n)), ra: false } : {};
    const ports = platform.ports ? new PortService(store, platform.ports) : undefined;
    // Linux: an upgrade that replaces the binary restarts the daemon from it, in place (same pid, pidfile, log).
    const binary = process.platform === "linux" ? ownBinary() : null;
    // Linux: the CNI plugin hands its ADD, DEL and CHECK calls to this daemon (src/cni/client.ts).
    // and a helper its lease and guarded TAP (cli/helper-service/), so it loads neither the store nor libnftables.
    const alsoServe = process.platform === "linux" ? async (log: (line: string) => void) => {
      const stopCni = await (await import("../../cni/serve.ts")).serveCni({ stateDir: stateDir(), store, log, binary });
      const { NetworkService } = await import("../../core/networks.ts");
      const networks = new NetworkService(store, platform);
      // Only where ports are TAPs (not the tests' darwin-double platform on Linux: its ports are vmnet interfaces, in the helper).
      const stopHelpers = platform.os === "linux" ? await (await import("../helper-service/serve.ts")).serveHelpers({ stateDir: stateDir(), networks, log, binary }) : () => {};
      return () => (stopHelpers(), stopCni());
    } : undefined;
    const ended = await runDaemon({ store, stateDir: stateDir(), tend, ports, alsoServe, binary, ...onVmnet });
    if (ended === "replaced" && binary) {
      store.close();
      const e = reexec(binary.path, ["vmlan", ...DAEMON_ARGS]);
      (await import("../../services/log.ts")).logger("services")(`cannot start ${binary.path} again: ${e}`);
      removePidfile();
      process.exit(1);
    }
    // Every server is closed by now; exit rather than wait for Bun to notice that nothing is left (it may not: Workers, signal handlers).
    process.exit(0);
  },
});

const status = defineCommand({
  meta: { name: "status", description: "Show whether the daemon runs", examples: ["vmlan services status", "vmlan services status --format json"] },
  args: { ...formatArgs },
  run({ args }) {
    const s = servicesStatus();
    if (formatFrom(args) === "json") return printJson(s);
    renderRecord({ services: s.running ? `running (pid ${s.pid})` : "stopped", log: s.log }, "table");
  },
});

export default defineCommand({
  meta: {
    name: "services",
    description: "DHCP and DNS for guests (the daemon)",
    details: `One daemon per state dir serves every network whose bridge is up: DHCP answers with the address
vmlan assigned to the client's MAC, DNS on the gateway answers guest names and forwards the rest.
\`vmlan system start\` starts it, \`vmlan system stop\` stops it.`,
    examples: ["vmlan services status", "vmlan services run  # in the foreground, e.g. under systemd"],
  },
  subCommands: { run, status },
});
