import { defineCommand } from "citty";
import { formatArgs } from "./_args.ts";
import { printVersion } from "../version-fast.ts";

/** Normally answered by main.ts before citty loads; this entry gives it --help and a place in the map. */
export default defineCommand({
  meta: { name: "version", description: "Print version, commit and target", examples: ["vmlan version", "vmlan version --format json"] },
  args: { ...formatArgs },
  run({ rawArgs }) {
    printVersion(rawArgs);
  },
});
