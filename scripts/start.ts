/**
 * `npm start`, the README's first command: the main job, on a bare machine.
 *   1. what cannot be installed (Linux: root, /dev/net/tun): one line saying what is missing and what
 *      to run instead, exit 1, nothing changed;
 *   2. what can: iproute2, nftables, QEMU with apt-get (src/platform/linux/apt.ts, the installer
 *      npm test and `vmlan demo` use too), one line naming them;
 *   3. dist/vmlan for this machine (scripts/build.ts --host);
 *   4. `vmlan system start`, 5. `vmlan demo`.
 *
 *   bun scripts/start.ts [--skip-install] [--skip-build] [-- DEMO FLAGS...]
 *
 * The skips and demo flags are for test/integration/vm/quickstart.test.ts, which runs steps 4 and 5
 * in a namespace of its own once npm test has installed and built everything.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ensureCommands, type Requirement } from "../src/platform/linux/apt.ts";
import { QEMU_REQUIREMENT } from "../src/platform/linux/qemu.ts";
import { TUN_PATH } from "../src/platform/linux/tap.ts";
import { VmlanError } from "../src/core/errors.ts";

const ROOT = join(import.meta.dir, "..");
const VMLAN = join(ROOT, "dist", "vmlan");

/** What the demo needs on Linux beyond root and /dev/net/tun. */
export const START_REQUIREMENTS: Requirement[] = [
  { command: "ip", debianPackage: "iproute2", why: "links and namespaces" },
  { command: "nft", debianPackage: "nftables", why: "NAT for the default network" },
  QEMU_REQUIREMENT,
];

/** Only building works without root or /dev/net/tun; say so. */
const BUILD_ONLY = "`npm run build -- --host` only builds dist/vmlan";

/** The one line for what npm start cannot fix itself, or null when the machine can run the demo. */
export function hostProblem(o: { platform: string; uid: number | undefined; tun: boolean }): string | null {
  if (o.platform === "darwin") return null; // vmnet's own rules (root on macOS 15) are vmlan's to report
  if (o.platform !== "linux") return `npm start runs the demo on Linux and macOS, not on ${o.platform}; ${BUILD_ONLY}`;
  if (o.uid !== 0) return `npm start needs root (it installs packages, creates a bridge and TAP devices): run \`sudo npm start\`; ${BUILD_ONLY}`;
  if (!o.tun) {
    return `npm start needs ${TUN_PATH} for the guests' TAP devices: run \`modprobe tun\`, or start the container with ` +
      `\`--device /dev/net/tun --cap-add NET_ADMIN\`; ${BUILD_ONLY}`;
  }
  return null;
}

class Stop extends Error {
  constructor(message: string, readonly code = 1) { super(message); }
}

function step(argv: string[]): void {
  const code = Bun.spawnSync(argv, { cwd: ROOT, stdio: ["inherit", "inherit", "inherit"] }).exitCode ?? 1;
  // The failing command printed its own error line; only pass its status on.
  if (code !== 0) throw new Stop("", code);
}

function main(argv: string[]): void {
  const dd = argv.indexOf("--");
  const own = dd < 0 ? argv : argv.slice(0, dd);
  const demoFlags = dd < 0 ? [] : argv.slice(dd + 1);
  const unknown = own.filter((a) => a !== "--skip-install" && a !== "--skip-build");
  if (unknown.length) throw new Stop(`unknown option "${unknown[0]}"; usage: bun scripts/start.ts [--skip-install] [--skip-build] [-- DEMO FLAGS...]`, 2);

  const problem = hostProblem({ platform: process.platform, uid: process.getuid?.(), tun: existsSync(TUN_PATH) });
  if (problem) throw new Stop(problem);
  if (process.platform === "linux" && !own.includes("--skip-install")) ensureCommands(START_REQUIREMENTS, { log: (l) => console.log(l) });
  if (!own.includes("--skip-build")) step([process.execPath, join(ROOT, "scripts", "build.ts"), "--host"]);
  step([VMLAN, "system", "start"]);
  step([VMLAN, "demo", ...demoFlags]);
}

if (import.meta.main) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    if (e instanceof Stop) {
      if (e.message) console.error(`error: ${e.message}`);
      process.exitCode = e.code;
    } else if (e instanceof VmlanError) {
      console.error(`error: ${e.message}`);
      process.exitCode = e.exitCode;
    } else throw e;
  }
}
