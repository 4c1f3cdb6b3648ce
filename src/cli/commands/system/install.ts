import { defineCommand } from "citty";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HostError, UsageError } from "../../../core/errors.ts";
import { stateDir } from "../../../core/store/paths.ts";
import { defaultBrokerSocket } from "../../../broker/socket-path.ts";
import { note } from "../../output.ts";
import { checkedFlag, intFlag, pattern } from "../../flags.ts";
import { MACH_SERVICE_RE, VMLAN_MACH_SERVICE } from "../../../core/resources/mach-services.ts";
import { systemdUnits, launchdPlist, SYSTEMD_SOCKET, LAUNCHD_LABEL } from "../../../broker/service-files.ts";
import { hasGroup, serviceLayout, canLoad } from "./_service.ts";

export default defineCommand({
  meta: {
    name: "install",
    description: "Install the broker as a system service",
    details: `Linux: vmlan-broker.socket and vmlan-broker.service in /etc/systemd/system, socket-activated,
enabled and started (unless --no-load, or with --root for packaging). macOS: a launchd daemon in
/Library/LaunchDaemons that advertises the broker's XPC Mach service (dev.vmlan.broker; with
--vmnet-broker-name also vmnet-broker's name, so vmnet-broker's clients use vmlan's networks).`,
    examples: [
      "vmlan system install",
      "vmlan system install --root pkg --bin /usr/bin/vmlan  # write the files for a package",
      "vmlan system install --vmnet-broker-name com.github.nirs.vmnet-broker  # macOS: serve vmnet-broker's clients too",
    ],
  },
  args: {
    root: { type: "string", valueHint: "DIR", description: "Write below this folder instead of / and do not load (packaging)", default: "/" },
    bin: { type: "string", valueHint: "PATH", description: "Path of the vmlan binary the service runs (default: this binary)" },
    group: { type: "string", valueHint: "GROUP", description: "Group allowed to use the broker (default: vmlan if it exists, else root)" },
    "exit-idle": intFlag("Seconds the on-demand broker stays after its last client", 0, 31_536_000, { default: "600", valueHint: "SECONDS" }),
    "no-load": { type: "boolean", description: "Write the files but do not enable/load them" },
    "vmnet-broker-name": checkedFlag("macOS: also advertise the broker under this Mach service name (vmnet-broker's: com.github.nirs.vmnet-broker)", pattern(MACH_SERVICE_RE, "a Mach service name like com.github.nirs.vmnet-broker"), { valueHint: "NAME" }),
  },
  run({ args }) {
    const bin = args.bin ?? process.execPath;
    if (!args.bin && /\/bun(\.exe)?$/.test(bin)) throw new UsageError("running from source: pass --bin /path/to/vmlan (the compiled binary)");
    const dir = stateDir();
    const machServices = [VMLAN_MACH_SERVICE, ...(args["vmnet-broker-name"] ? [args["vmnet-broker-name"]] : [])];
    const params = { bin, stateDir: dir, socket: defaultBrokerSocket(), group: args.group ?? (hasGroup("vmlan") ? "vmlan" : "root"), exitIdle: Number(args["exit-idle"]), machServices };
    const layout = serviceLayout(args.root);
    const files = layout.isDarwin ? { [`${LAUNCHD_LABEL}.plist`]: launchdPlist(params) } : systemdUnits(params);
    mkdirSync(layout.dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      writeFileSync(join(layout.dir, name), text, { mode: 0o644 });
      process.stdout.write(`${join(layout.dir, name)}\n`);
    }
    if (args.root !== "/" || args["no-load"]) return;
    if (!canLoad(layout.isDarwin)) return note("systemd is not running on this host: files written, not loaded");
    const steps = layout.isDarwin
      ? [["launchctl", "bootstrap", "system", join(layout.dir, `${LAUNCHD_LABEL}.plist`)]]
      : [["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", SYSTEMD_SOCKET]];
    for (const cmd of steps) {
      const r = Bun.spawnSync(cmd, { stderr: "pipe" });
      if (r.exitCode !== 0) throw new HostError(`${cmd.join(" ")} failed: ${r.stderr.toString().trim()}`);
    }
    note(`loaded: ${steps.map((s) => s.join(" ")).join("; ")}`);
  },
});
