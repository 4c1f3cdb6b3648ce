import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { formatFrom, printJson, table } from "../../output.ts";
import { networkService } from "../../context.ts";
import { VERSION } from "../../../build-info.ts";
import { servicesStatus } from "../../../services/control.ts";
import { withBrokerView } from "../network/_broker-view.ts";

export default defineCommand({
  meta: {
    name: "status",
    description: "Show the store and each network's host state",
    examples: ["vmlan system status", "vmlan system status --format json"],
  },
  args: { ...formatArgs },
  async run({ args }) {
    const svc = await networkService(true);
    const nets = await withBrokerView(svc, await svc.statusAll());
    const services = servicesStatus();
    const status = { version: VERSION, store: svc.store.path, schemaVersion: svc.store.schemaVersion(), services, networks: nets };
    if (formatFrom(args) === "json") return printJson(status);
    process.stdout.write(`vmlan ${VERSION}, store ${status.store} (schema ${status.schemaVersion})\n`);
    process.stdout.write(`services (DHCP, DNS): ${services.running ? `running, pid ${services.pid}` : "stopped"}; log ${services.log}\n`);
    process.stdout.write(table(nets, [
      { header: "NAME", value: (n) => n.name },
      { header: "BRIDGE", value: (n) => n.bridge },
      { header: "STATE", value: (n) => (n.host?.up ? "up" : "down") },
      { header: "NAT", value: (n) => (n.mode === "shared" ? (n.host?.nat ? "on" : "missing") : "host-only") },
      { header: "ADDRESSES", value: (n) => n.host?.addresses.join(",") || "-" },
      { header: "ATTACHED", value: (n) => n.attachments },
    ]));
  },
});
