import { defineCommand } from "citty";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { note } from "../../output.ts";
import { SYSTEMD_SOCKET, SYSTEMD_SERVICE, LAUNCHD_LABEL } from "../../../broker/service-files.ts";
import { serviceLayout, canLoad } from "./_service.ts";

export default defineCommand({
  meta: {
    name: "uninstall",
    description: "Stop and remove the broker service",
    examples: ["vmlan system uninstall"],
  },
  args: { root: { type: "string", valueHint: "DIR", description: "Remove below this folder instead of / (packaging)", default: "/" } },
  run({ args }) {
    const layout = serviceLayout(args.root);
    if (args.root === "/" && canLoad(layout.isDarwin)) {
      const steps = layout.isDarwin
        ? [["launchctl", "bootout", `system/${LAUNCHD_LABEL}`]]
        : [["systemctl", "disable", "--now", SYSTEMD_SOCKET, SYSTEMD_SERVICE], ["systemctl", "daemon-reload"]];
      for (const cmd of steps) Bun.spawnSync(cmd, { stderr: "ignore" }); // absent units are fine
    }
    for (const name of layout.names) {
      const path = join(layout.dir, name);
      if (!existsSync(path)) continue;
      rmSync(path);
      process.stdout.write(`removed ${path}\n`);
    }
    if (args.root === "/" && !canLoad(layout.isDarwin)) note("systemd is not running on this host: files removed only");
  },
});
