import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { uninstallLinks } from "../../compat/install.ts";
import { linkArgs, printLinks, vmlanBinary } from "./_links.ts";

export default defineCommand({
  meta: {
    name: "uninstall",
    description: "Remove the links compat install made",
    details: `Removes vmnet-helper, vmnet-run, ... where they are links to vmlan (in the programs' own
directories, or in PREFIX/bin); files there that are not links to vmlan are kept.`,
    examples: ["vmlan compat uninstall", "vmlan compat uninstall --prefix ~/.local"],
  },
  args: { ...linkArgs, ...formatArgs },
  run({ args }) {
    printLinks(uninstallLinks(vmlanBinary(args.bin), args.prefix), args);
  },
});
