/**
 * The interface id rule without valibot: `vmlan helper --id` is checked at every helper's start,
 * and the helper's path through the services daemon loads no valibot (bench helper). names.ts's
 * InterfaceId schema (the store's and the daemon's check) is built from the same rule and message.
 * Here, not with input-checks.ts's other checks: those load node:fs and node:path, which a helper
 * would then load before its request to the services daemon goes out (about 1.2 ms; bench helper).
 */
import { UsageError } from "../errors.ts";

/** Interface ids: what a VM tool passes with --id (a UUID, a VM name, ...). */
export const INTERFACE_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.:@-]{0,127}$/;

export const interfaceIdProblem = (id: string) => `invalid interface id "${id}": use 1-128 letters, digits, '_', '.', ':', '@', '-'`;

/** An interface id as `--id` takes it (the same rule the store applies, without loading valibot). */
export function checkInterfaceId(id: string): string {
  if (!INTERFACE_ID_RE.test(id)) throw new UsageError(interfaceIdProblem(id));
  return id;
}
