/**
 * Hidden: the process a detached macOS VM runs in (Virtualization.framework runs a VM inside its
 * caller). Started by `vmlan vm run --detach` (src/platform/darwin/vz-host.ts), stopped by `vm stop`.
 */
import { defineCommand } from "citty";
import { note } from "../../output.ts";
import { vmDeps } from "./_deps.ts";

export default defineCommand({
  meta: { name: "_vz-host", description: "internal: runs a detached Virtualization.framework VM (started by `vm run --detach`)", hidden: true },
  args: { spec: { type: "string", description: "The VM, as JSON written by `vm run --detach`", required: true } },
  async run({ args }) {
    const { runVmHost } = await import("../../../platform/index.ts");
    const { ensureHostSide, stopHelpers } = await import("../../../vm/launch.ts");
    const deps = await vmDeps();
    process.exitCode = await runVmHost(args.spec, {
      backend: deps.backend,
      ensureNetwork: async (name) => (await ensureHostSide(name, deps)).bridge,
      stopHelpers,
      log: (m) => note(`vmlan vm ${m}`),
    });
  },
});
