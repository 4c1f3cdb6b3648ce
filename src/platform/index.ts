import type { Platform } from "./types.ts";
import { VmlanError } from "../core/errors.ts";

/**
 * The only place that branches on the OS. Literal `process.platform` compares let the bundler
 * drop the other OS's code from each compiled binary.
 */
export async function hostPlatform(): Promise<Platform> {
  if (process.platform === "linux") {
    const { createLinuxPlatform } = await import("./linux/index.ts");
    return createLinuxPlatform();
  }
  throw new VmlanError(`vmlan does not manage host networks on ${process.platform} yet (the macOS vmnet backend is a later milestone)`, { code: "EUNSUPPORTED", exitCode: 6 });
}
