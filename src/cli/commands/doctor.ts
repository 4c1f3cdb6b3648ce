import { defineCommand } from "citty";
import { formatArgs } from "./_args.ts";
import { formatFrom, printJson, table } from "../output.ts";

export default defineCommand({
  meta: {
    name: "doctor",
    description: "Check what vmlan needs on this host",
    details: `One line per check (privileges, /dev/net/tun, KVM, nftables, QEMU, the guest image's tools), each
failed or warned check with a fix; exit 6 when one fails.`,
    examples: ["vmlan doctor", "vmlan doctor --format json"],
  },
  args: { ...formatArgs },
  async run({ args }) {
    const { hostDoctor } = await import("../../platform/index.ts");
    const checks = await hostDoctor();
    const failed = checks.some((c) => c.status === "fail");
    if (formatFrom(args) === "json") printJson({ ok: !failed, checks });
    else process.stdout.write(table(checks, [
      { header: "CHECK", value: (c) => c.check },
      { header: "STATUS", value: (c) => c.status },
      { header: "DETAIL", value: (c) => c.detail },
      { header: "FIX", value: (c) => c.fix ?? "" },
    ]));
    if (failed) process.exitCode = 6;
  },
});
