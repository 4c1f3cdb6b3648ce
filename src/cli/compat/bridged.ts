/**
 * vmnet-helper's bridged mode (`--operation-mode bridged --shared-interface IF`) and
 * `--list-shared-interfaces`, as `vmlan helper` and the binary started as `vmnet-helper` call them.
 * The options are parsed and checked in helper-options.ts; what they do needs a bridged network mode
 * (`network create --mode bridged --uplink IF`, the `bridged` work of issue #11). Until it exists
 * both say so in one line. The bridged work replaces these two functions.
 */
import { VmlanError } from "../../core/errors.ts";
import type { NetworkService } from "../../core/networks.ts";
import type { Network } from "../../core/resources/network.ts";

const NOT_YET = "bridged networks are not available in this vmlan yet (see docs/compat.md)";

/** The host interfaces a bridged network can use, one name per line on stdout (vmnet-helper --list-shared-interfaces). */
export async function listSharedInterfaces(): Promise<string[]> {
  throw new VmlanError(`--list-shared-interfaces: ${NOT_YET}`, { code: "EUNSUPPORTED", exitCode: 2 });
}

/** The vmlan network bridged to `uplink`, created on first use. */
export async function bridgedNetwork(_svc: NetworkService, uplink: string): Promise<{ network: Network; created: boolean }> {
  throw new VmlanError(`--operation-mode bridged --shared-interface ${JSON.stringify(uplink)}: ${NOT_YET}`, { code: "EUNSUPPORTED", exitCode: 2 });
}
