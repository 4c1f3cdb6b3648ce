import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { installLinks } from "../../compat/install.ts";
import { linkArgs, printLinks, vmlanBinary } from "./_links.ts";

export default defineCommand({
  meta: {
    name: "install",
    description: "Link vmnet-helper and vmnet-run to vmlan",
    details: `Symbolic links to this binary where the programs' own installers put them and their users'
tools look (/opt/vmnet-helper/bin/vmnet-helper, /opt/vmnet-helper/bin/vmnet-run), or in PREFIX/bin.
Idempotent. A file there that is not a link to vmlan (the real program?) is left alone: exit 4.`,
    examples: ["vmlan compat install", "vmlan compat install --prefix ~/.local  # ~/.local/bin/vmnet-helper, ..."],
  },
  args: { ...linkArgs, ...formatArgs },
  run({ args }) {
    printLinks(installLinks(vmlanBinary(args.bin), args.prefix), args);
  },
});
