import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { uninstallLinks } from "../../compat/install.ts";
import { linkArgs, printLinks, vmlanBinary } from "./_links.ts";

export default defineCommand({
  meta: { name: "uninstall", description: "Remove the links `vmlan compat install` made; files there that are not links to vmlan are kept" },
  args: { ...linkArgs, ...formatArgs },
  run({ args }) {
    printLinks(uninstallLinks(vmlanBinary(args.bin), args.prefix), args);
  },
});
