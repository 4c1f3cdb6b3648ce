/**
 * The binary started as `vmnet-helper`: vmnet-helper's command line exactly (getopt_long, each option
 * acted on in order: --help, --version and --list-shared-interfaces exit where they stand), its log
 * lines and its exit codes (0, or 1 for every error, usage text after the errors vmnet-helper
 * prints it for). What the options mean: helper-options.ts, helper-run.ts, docs/compat.md.
 */
import { UsageError, VmlanError } from "../../core/errors.ts";
import { COMMIT, VERSION } from "../../build-info.ts";
import { getopt } from "./getopt.ts";
import { applyOption, finishRequest, newRequest, printsUsage, VMNET_HELPER_OPTIONS } from "./helper-options.ts";
import { compatLog } from "./log.ts";

/** The vmnet-helper release whose command line, start line and stats vmlan implements. */
export const VMNET_HELPER_INTERFACE = "v0.13.0";

/** vmnet-helper's --version format (YAML: minikube reads `version`), plus the vmlan behind it. */
export function printHelperVersion(): void {
  process.stdout.write(`version: ${VMNET_HELPER_INTERFACE}\ncommit: ${COMMIT}\nvmlan: ${VERSION}\n`);
}

const USAGE = `
Connect a VM to a vmlan network with vmnet-helper's command line (vmlan ${VERSION})

    vmnet-helper (--fd FD|--socket SOCKET) [--interface-id UUID]
                 [--operation-mode shared|bridged|host] [--shared-interface NAME]
                 [--start-address ADDR] [--end-address ADDR] [--subnet-mask MASK]
                 [--enable-tso] [--enable-checksum-offload] [--enable-isolation]
                 [--network NAME] [--list-shared-interfaces]
                 [--stats-interval SECONDS]
                 [-v|--verbose] [--version] [-h|--help]

Networks:
    Without --network, --operation-mode shared (the default) is vmlan's network "default"
    and host is its network "host"; with the three address options it is the network whose
    gateway is --start-address and whose guests get --start-address + 1 to --end-address
    (created on first use). Networks are brought up, with DHCP and DNS, on demand.
    --network NAME joins the vmlan network NAME ("shared" and "host": the built-in ones).

    --network cannot be used with --operation-mode, --shared-interface, --start-address,
    --end-address or --subnet-mask.

    More: vmlan helper --help, and docs/compat.md for every difference.

`;

export const printUsage = (to: NodeJS.WriteStream = process.stderr) => to.write(USAGE);

export async function main(argv: string[]): Promise<number> {
  const options = compatLog(null, false);
  const r = newRequest();
  const { events, operands } = getopt(argv, VMNET_HELPER_OPTIONS);
  try {
    for (const e of events) {
      if (e.kind === "missing-value") throw new UsageError(`option ${JSON.stringify(e.word)} requires a value`);
      if (e.kind === "unknown") throw new UsageError(`invalid option: ${JSON.stringify(e.word)}`);
      if (e.name === "help") {
        printUsage();
        return 0;
      }
      if (e.name === "version") {
        printHelperVersion();
        return 0;
      }
      if (e.name === "list-shared-interfaces") {
        const { listSharedInterfaces } = await import("./bridged.ts");
        for (const name of await listSharedInterfaces()) process.stdout.write(`${name}\n`);
        return 0;
      }
      applyOption(r, e.name, e.value);
    }
    finishRequest(r);
  } catch (e) {
    if (!(e instanceof VmlanError)) throw e;
    options.error(e.message);
    if (printsUsage(e)) printUsage();
    return 1;
  }
  const log = compatLog("main", r.verbose);
  // vmnet-helper leaves operands alone (getopt permutes them to the end); say so rather than guess.
  for (const word of operands) log.warn(`ignoring argument ${JSON.stringify(word)}`);
  log.info(`running vmnet-helper ${VMNET_HELPER_INTERFACE} (vmlan ${VERSION}) on ${process.platform}, uid ${process.getuid?.() ?? "?"}`);
  try {
    // Through the services daemon when it runs (as `vmlan helper`), else in this process.
    const { runHelperArgs } = await import("../commands/_helper-args.ts");
    return (await runHelperArgs(r, "vmnet-helper")) === 0 ? 0 : 1;
  } catch (e) {
    log.error(e instanceof Error ? e.message : String(e));
    if (process.env.VMLAN_DEBUG === "1" && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
