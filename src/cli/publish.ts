/** `-p/--publish SPEC` (repeatable) as `vmlan run` and `vmlan vm run` take it. */
import { checkedFlag } from "./flags.ts";
import { repeatedWithAlias } from "./commands/_args.ts";
import { parsePortSpecs, specProblem, SPEC_FORMAT, type PortSpec } from "../core/ports/spec.ts";

export const publishArg = {
  publish: checkedFlag(`Publish a host port to the guest (repeatable): ${SPEC_FORMAT}; host address 127.0.0.1 unless given`, specProblem, {
    alias: "p", valueHint: "SPEC",
  }),
};

export function publishSpecs(rawArgs: string[]): PortSpec[] {
  return parsePortSpecs(repeatedWithAlias(rawArgs, "publish", "p"), "--publish");
}
