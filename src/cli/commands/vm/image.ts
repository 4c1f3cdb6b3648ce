import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { formatFrom, note, renderRecord } from "../../output.ts";

const build = defineCommand({
  meta: {
    name: "build",
    description: "Build (or find cached) the guest image",
    details: `Debian's linux-image-*-cloud-amd64 and busybox-static, fetched with apt-get download and unpacked
with dpkg -x (nothing is installed on the host), plus an initramfs that vmlan writes. Cached by the
hash of its inputs in <state dir>/images (or $VMLAN_IMAGE_CACHE).`,
    examples: ["vmlan vm image build", "vmlan vm image build --rebuild"],
  },
  args: { rebuild: { type: "boolean", description: "Build even when a cached image matches" }, ...formatArgs },
  async run({ args }) {
    const { ensureGuestImage } = await import("../../../vm/image.ts");
    const img = ensureGuestImage({ rebuild: args.rebuild, log: note });
    renderRecord({ kernel: img.kernel, initrd: img.initrd, kernelVersion: img.kernelVersion, built: img.built }, formatFrom(args));
  },
});

export default defineCommand({
  meta: { name: "image", description: "The built-in guest image", examples: ["vmlan vm image build"] },
  subCommands: { build: () => build },
});
