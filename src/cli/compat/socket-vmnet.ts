/**
 * The binary started as `socket_vmnet`: socket_vmnet's command line exactly (cli.c: getopt_long with
 * "hvp:", one SOCKET operand, -h/-v exit 0 where they stand), its log lines (`INFO | `, `WARN | `,
 * `ERROR| `; DEBUG= for debug lines), its socket (group "staff" by default, 0770), its pidfile and its
 * exit codes: 0 after SIGHUP/SIGINT/SIGTERM, 1 for every error, with the usage text on stdout after
 * a bad command line. What it serves is `vmlan switch` (switch-run.ts); docs/compat.md lists the
 * differences.
 */
import { UsageError } from "../../core/errors.ts";
import { VERSION } from "../../build-info.ts";
import { getopt } from "./getopt.ts";
import { applySwitchOption, DEFAULT_SOCKET_GROUP, finishSwitchRequest, newSwitchRequest, SOCKET_VMNET_OPTIONS } from "./socket-vmnet-options.ts";

/** The socket_vmnet whose command line vmlan implements: lima-vm/socket_vmnet @7af3d33, 42 commits after v1.2.2 (--vmnet-disable-dhcp). */
export const SOCKET_VMNET_INTERFACE = "v1.2.2";

const line = (prefix: string, msg: string) => process.stderr.write(`${prefix}${msg}\n`);
const error = (msg: string) => line("ERROR| ", msg);
const warn = (msg: string) => line("WARN | ", msg);

function usage(argv0: string): void {
  process.stdout.write(`Usage: ${argv0} [OPTION]... SOCKET
vmnet.framework support for rootless QEMU, served by vmlan: every VM on its own port of a vmlan network.
socket_vmnet does not require QEMU to run as the root user, but socket_vmnet itself has to run as the root, in most cases.

--socket-group=GROUP                socket group name (default: "${DEFAULT_SOCKET_GROUP}")
--vmnet-mode=(host|shared|bridged)  vmnet mode (default: "shared")
--vmnet-interface=INTERFACE         interface used for --vmnet=bridged, e.g., "eth0"
--vmnet-gateway=IP                  gateway used for --vmnet=(host|shared), e.g., "192.168.105.1" (default: vmlan's network "default", or "host")
                                    the next IP (e.g., "192.168.105.2") is used as the first DHCP address
--vmnet-dhcp-end=IP                 end of the DHCP range (default: XXX.XXX.XXX.254)
                                    requires --vmnet-gateway to be specified
--vmnet-mask=MASK                   subnet mask (default: "255.255.255.0")
                                    requires --vmnet-gateway to be specified
--vmnet-interface-id=UUID           vmnet interface ID (default: random; each VM is its own port here)
--vmnet-network-identifier=UUID     join the isolated host network with this identifier (no DHCP on it)
--vmnet-nat66-prefix=PREFIX::       the IPv6 prefix of a network created for --vmnet-gateway (a ULA, fd00::/8)
--vmnet-disable-dhcp                no vmlan DHCP server on a network created for these options
-p, --pidfile=PIDFILE               save pid to PIDFILE
-h, --help                          display this help and exit
-v, --version                       display version information and exit

version: ${SOCKET_VMNET_INTERFACE} (vmlan ${VERSION}); differences: docs/compat.md
`);
}

export async function main(argv: string[], argv0 = process.argv0): Promise<number> {
  const r = newSwitchRequest();
  r.verbose = process.env.DEBUG !== undefined;
  const { events, operands } = getopt(argv, SOCKET_VMNET_OPTIONS);
  try {
    for (const e of events) {
      // getopt_long's own messages (BSD libc, as on macOS), then socket_vmnet prints its usage.
      if (e.kind === "unknown") throw new UsageError(`${argv0}: unrecognized option \`${e.word}'`);
      if (e.kind === "missing-value") throw new UsageError(`${argv0}: option \`${e.word}' requires an argument`);
      if (e.name === "help") {
        usage(argv0);
        return 0;
      }
      if (e.name === "version") {
        process.stdout.write(`${SOCKET_VMNET_INTERFACE}\n`);
        return 0;
      }
      applySwitchOption(r, e.name, e.value);
    }
    if (operands.length !== 1) throw new UsageError("");
    r.socket = operands[0];
    for (const w of finishSwitchRequest(r)) warn(w);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (e.message) (e.message.startsWith(`${argv0}:`) ? process.stderr.write(`${e.message}\n`) : error(e.message));
    usage(argv0);
    return 1;
  }
  r.socketGroup ??= DEFAULT_SOCKET_GROUP;
  if (process.geteuid?.() !== 0) warn("Running without root. This is very unlikely to work: See README.md");
  if (process.geteuid?.() !== process.getuid?.()) warn("Seems running with SETUID. This is insecure and highly discouraged: See README.md");
  try {
    const { runSwitchRequest } = await import("./switch-run.ts");
    return (await runSwitchRequest(r, "socket_vmnet")) === 0 ? 0 : 1;
  } catch (e) {
    error(e instanceof Error ? e.message : String(e));
    if (process.env.VMLAN_DEBUG === "1" && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
