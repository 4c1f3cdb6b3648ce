import { defineCommand } from "citty";
import { formatArgs, positionals } from "../_args.ts";
import { printJson } from "../../output.ts";
import { networkService } from "../../context.ts";
import { VmlanError } from "../../../core/errors.ts";
import { LeaseService } from "../../../core/leases.ts";
import { withBrokerView } from "./_broker-view.ts";
import { PortService } from "../../../core/ports/service.ts";
import { portRecord } from "../../display/port.ts";

export default defineCommand({
  meta: {
    name: "inspect",
    description: "Show networks in detail, with the kernel's view",
    details: "JSON: the stored definition and what the host reports (bridge up, addresses, NAT rules), its leases and published ports.",
    examples: ["vmlan network inspect default", "vmlan network inspect lab lab6"],
  },
  args: { name: { type: "positional", valueHint: "NAME...", description: "Network name(s)", required: true }, ...formatArgs },
  async run({ args }) {
    const names = [args.name, ...positionals(args).slice(1)];
    const svc = await networkService(true);
    const leases = new LeaseService(svc.store);
    const ports = new PortService(svc.store, null);
    const out = [];
    let failed: VmlanError | null = null;
    for (const name of names) {
      try {
        out.push({ ...(await svc.inspect(name)), leases: leases.list(name), ports: ports.list(name).map(portRecord) });
      } catch (e) {
        if (!(e instanceof VmlanError)) throw e;
        process.stderr.write(`error: ${e.message}\n`);
        failed = e;
      }
    }
    printJson(await withBrokerView(svc, out));
    if (failed) process.exitCode = failed.exitCode;
  },
});
