import { defineCommand } from "citty";
import { networkService } from "../../context.ts";
import { printJson } from "../../output.ts";
import { stateDir } from "../../../core/store/paths.ts";
import { UsageError } from "../../../core/errors.ts";
import { conflistFor } from "../../../cni/conflist.ts";
import { SUPPORTED_VERSIONS } from "../../../cni/protocol.ts";

export default defineCommand({
  meta: {
    name: "config",
    description: "Print a CNI conflist for a network",
    details: `The list names vmlan's state directory (stateDir), so the plugin finds this store whatever
environment the runtime gives it. --plugin bridge writes the reference bridge plugin on vl-NAME with
isGateway false and vmlan as IPAM, plus the network's DNS (bridge takes DNS from its own config).`,
    examples: [
      "vmlan cni config lab > /etc/cni/net.d/50-lab.conflist",
      "vmlan cni config lab --plugin bridge --cni-version 0.4.0",
    ],
  },
  args: {
    network: { type: "positional", description: "vmlan network name", required: true },
    plugin: { type: "enum", options: ["vmlan", "bridge"], description: "vmlan: vmlan makes the veth; bridge: the reference bridge plugin with vmlan as IPAM", default: "vmlan" },
    name: { type: "string", description: "CNI network name (default: the vmlan network's)" },
    "cni-version": { type: "string", description: "cniVersion to write (0.3.0-1.1.0)", default: "1.0.0" },
  },
  async run({ args }) {
    const v = args["cni-version"];
    if (!(SUPPORTED_VERSIONS as readonly string[]).includes(v)) throw new UsageError(`invalid --cni-version "${v}": use one of ${SUPPORTED_VERSIONS.join(", ")}`);
    if (args.name !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(args.name)) throw new UsageError(`invalid --name "${args.name}": use letters, digits, '_', '.', '-'`);
    const net = (await networkService(false)).get(args.network);
    printJson(conflistFor(net, { flavor: args.plugin as "vmlan" | "bridge", name: args.name, cniVersion: v, stateDir: stateDir() }));
  },
});
