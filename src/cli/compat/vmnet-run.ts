/**
 * The binary started as `vmnet-run` (nirs/vmnet-helper programs/run.c, read for the facts): the
 * vmnet-helper options it passes on, then `-- COMMAND ...`. A datagram socketpair: the helper (this
 * binary as `vmnet-helper --fd=3`) gets one end as fd 3, COMMAND the other as fd 4
 * (`--device virtio-net,fd=4`, `-netdev dgram,local.type=fd,local.str=4`); the helper's JSON line
 * goes to stdout. Exit status: COMMAND's (128 + signal), 1 for vmnet-run's own errors.
 * Unlike run.c, everything is checked and the helper is ready before COMMAND starts, and COMMAND is
 * stopped if the helper dies (run.c would leave the VM running without its network).
 */
import { UsageError, VmlanError } from "../../core/errors.ts";
import { VERSION } from "../../build-info.ts";
import { getopt } from "./getopt.ts";
import { applyOption, finishRequest, newRequest, type HelperRequest, VMNET_HELPER_OPTIONS } from "./helper-options.ts";
import { compatLog } from "./log.ts";
import { printHelperVersion } from "./vmnet-helper.ts";

/** The fds run.c gives the helper and the command. */
export const HELPER_FD = 3;
export const COMMAND_FD = 4;
/** How long the helper may take to print its start line. */
const READY_TIMEOUT_MS = 30_000;

const RUN_OPTIONS = VMNET_HELPER_OPTIONS.filter((o) => !["fd", "socket", "list-shared-interfaces"].includes(o.long));

const USAGE = `
Run a command connected to a vmlan network with vmnet-run's command line (vmlan ${VERSION})

    vmnet-run [--interface-id UUID] [--operation-mode shared|bridged|host]
              [--start-address ADDR] [--end-address ADDR]
              [--subnet-mask MASK] [--shared-interface NAME]
              [--enable-tso] [--enable-checksum-offload]
              [--enable-isolation] [--network NAME]
              [--stats-interval SECONDS]
              [-v|--verbose] [--version] [-h|--help]
              -- command ...

    The command gets the VM's end of the network as file descriptor 4. The options mean
    what they mean to vmnet-helper (vmnet-helper --help); differences: docs/compat.md.

`;

/** The helper's argv, in run.c's order, from the checked (normalised) request. */
export function helperArgv(r: HelperRequest): string[] {
  const out = [`--fd=${HELPER_FD}`];
  const value = (flag: string, v: string | number | undefined) => { if (v !== undefined) out.push(`--${flag}`, String(v)); };
  value("interface-id", r.interfaceId);
  value("operation-mode", r.operationMode);
  value("start-address", r.startAddress);
  value("end-address", r.endAddress);
  value("subnet-mask", r.subnetMask);
  value("shared-interface", r.sharedInterface);
  if (r.tso) out.push("--enable-tso");
  if (r.checksumOffload) out.push("--enable-checksum-offload");
  if (r.isolation) out.push("--enable-isolation");
  value("network", r.network);
  value("stats-interval", r.statsInterval);
  if (r.verbose) out.push("--verbose");
  return out;
}

/** Parses vmnet-run's command line; returns the request and the command, or an exit code. */
export function parseRun(argv: string[]): { request: HelperRequest; command: string[] } | number {
  const log = compatLog("runner", false);
  const r = newRequest();
  const { events, operands } = getopt(argv, RUN_OPTIONS);
  try {
    for (const e of events) {
      if (e.kind === "missing-value") throw new UsageError(`option ${JSON.stringify(e.word)} requires a value`);
      if (e.kind === "unknown") throw new UsageError(`invalid option: ${JSON.stringify(e.word)}`);
      if (e.name === "help") return (process.stderr.write(USAGE), 0);
      if (e.name === "version") return (printHelperVersion(), 0);
      applyOption(r, e.name, e.value);
    }
    finishRequest({ ...r, fd: HELPER_FD }); // the helper's rules, checked before anything starts
  } catch (e) {
    if (!(e instanceof VmlanError)) throw e;
    log.error(e.message);
    return 1;
  }
  if (operands.length === 0) {
    log.error("no command specified");
    process.stderr.write(USAGE);
    return 1;
  }
  return { request: r, command: operands };
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseRun(argv);
  if (typeof parsed === "number") return parsed;
  const { runWithHelper } = await import("./vmnet-run-exec.ts");
  return runWithHelper(helperArgv(parsed.request), parsed.command, compatLog("runner", parsed.request.verbose), READY_TIMEOUT_MS);
}
