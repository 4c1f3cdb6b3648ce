import { defineCommand } from "citty";
import { HELPER_ARGS, helperRequest, runHelperArgs } from "./_helper-args.ts";
import { printHelperVersion } from "../compat/vmnet-helper.ts";

export default defineCommand({
  meta: {
    name: "helper",
    description: "Connect one VM to a network (vmnet-helper's command line)",
    details: `Forwards Ethernet frames between a unix datagram socket (--fd from a socketpair, or --socket;
one frame per datagram, as vfkit, krunkit, libkrun and QEMU -netdev dgram use) and a TAP on the
network's bridge. Prints one JSON line on stdout when ready, with every key vmnet-helper prints and
vmlan's own. SIGTERM or SIGINT stop it and release the address unless --keep.

Every vmnet-helper option is accepted with its meaning. Without --network, --operation-mode shared
(the default) is the network "default", host is the network "host", and --start-address,
--end-address and --subnet-mask choose the network with that gateway whose guests get start + 1 to
end (created on first use); those networks are brought up on demand. Details: docs/compat.md.`,
    examples: [
      "vmlan helper --socket /tmp/vm1.sock --network default --id vm1",
      "vmlan helper --fd 3 --interface-id 2835E074-9892-4A79-AFFB-7E41D2605678  # as vmnet-helper",
      "vmlan helper --socket /tmp/vm2.sock --start-address 192.168.200.1 --end-address 192.168.200.50 --subnet-mask 255.255.255.0",
      "vmlan helper --socket /tmp/vm1.sock --network lab --broker  # without root, via the broker",
    ],
  },
  args: HELPER_ARGS,
  async run({ args }) {
    if (args.version) return printHelperVersion();
    if (args["list-shared-interfaces"]) {
      const { listSharedInterfaces } = await import("../compat/bridged.ts");
      for (const name of await listSharedInterfaces()) process.stdout.write(`${name}\n`);
      return;
    }
    process.exit(await runHelperArgs(helperRequest(args)));
  },
});
