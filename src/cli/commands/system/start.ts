import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { leaseService, networkService } from "../../context.ts";
import { printResults } from "./results.ts";
import { formatFrom } from "../../output.ts";
import { startServices } from "../../../services/control.ts";
import { syncPortsAfter } from "../../ports.ts";

export default defineCommand({
  meta: {
    name: "start",
    description: "Bring every network up (creating the default one)",
    details: `Creates the built-in default network (192.168.64.0/24, gateway 192.168.64.1, shared) if it is
absent, brings every stored network's bridge and rules up again (after a reboot, say) and, on
Linux, starts the DHCP and DNS daemon.`,
    examples: ["vmlan system start", "vmlan system start --format json"],
  },
  args: { ...formatArgs },
  async run({ args }) {
    const svc = await networkService(true);
    printResults(await svc.startAll(), args);
    // After a crash or a reboot: attachments whose owning process is gone are released (issue #12 item 10).
    const orphans = leaseService().releaseOrphans();
    if (orphans.length && formatFrom(args) !== "json") process.stdout.write(`orphans: released ${orphans.length} attachment(s) of processes that are gone\n`);
    await syncPortsAfter(svc.store); // published ports onto the bridges just made (the daemon does it too)
    svc.platform?.sweepPorts?.(); // and the anti-spoofing rules of ports that are gone (issue #12 item 2)
    // DHCP and DNS for the guests (src/services): Linux, and macOS 26 on vmnet's bridges; on macOS 15
    // vmnet's own DHCP serves its shared network (docs/macos.md "DHCP and DNS for guests").
    if (svc.platform?.os === "linux" || svc.platform?.serviceInterface) {
      const s = await startServices();
      if (formatFrom(args) !== "json") process.stdout.write(`services: ${s.outcome} (pid ${s.pid}, log ${s.log})\n`);
    }
  },
});
