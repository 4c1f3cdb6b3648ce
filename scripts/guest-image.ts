/**
 * Builds vmlan's guest image (Debian cloud kernel + busybox initramfs) without the binary:
 *
 *   bun scripts/guest-image.ts [--rebuild] [--cache DIR]
 *
 * Same code as `vmlan vm image build` (src/vm/image.ts) and the first `vmlan vm run`. Downloads only
 * from Debian's package registry (apt-get download), unpacks with dpkg -x, installs nothing.
 * Default cache: $VMLAN_IMAGE_CACHE, else <state dir>/images. Prints the image's files as JSON.
 */
import { parseArgs } from "node:util";
import { ensureGuestImage } from "../src/vm/image.ts";

const { values } = parseArgs({ args: process.argv.slice(2), options: { rebuild: { type: "boolean", default: false }, cache: { type: "string" } } });
try {
  const img = ensureGuestImage({ rebuild: values.rebuild, cache: values.cache, log: (m) => console.error(m) });
  console.log(JSON.stringify(img, null, 2));
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  process.exitCode = 1;
}
