import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { formatFrom, note, renderRecord } from "../../output.ts";

const build = defineCommand({
  meta: { name: "build", description: "Build (or find cached) the guest image: Debian cloud kernel + busybox initramfs" },
  args: { rebuild: { type: "boolean", description: "Build even when a cached image matches" }, ...formatArgs },
  async run({ args }) {
    const { ensureGuestImage } = await import("../../../vm/image.ts");
    const img = ensureGuestImage({ rebuild: args.rebuild, log: note });
    renderRecord({ kernel: img.kernel, initrd: img.initrd, kernelVersion: img.kernelVersion, built: img.built }, formatFrom(args));
  },
});

export default defineCommand({
  meta: { name: "image", description: "The built-in guest image" },
  subCommands: { build: () => build },
});
