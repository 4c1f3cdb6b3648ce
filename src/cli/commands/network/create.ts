import { defineCommand } from "citty";
import { formatArgs, given, repeated } from "../_args.ts";
import { intFlag } from "../../flags.ts";
import { formatFrom, renderRecord, note } from "../../output.ts";
import { networkService } from "../../context.ts";
import { dnsDomainOf } from "../../../core/resources/network.ts";
import { parseLabels } from "../../../core/resources/labels.ts";
import { notifyServices } from "../../../services/control.ts";

export default defineCommand({
  meta: {
    name: "create",
    description: "Create a network (idempotent)",
    details: `An identical network is reported unchanged (exit 0); a different configuration exits 2 with a
one-line diff, or is recreated with --replace when nothing is attached.

Without --subnet the network gets the next free /24 from 192.168.65.0/24 upward that overlaps
neither another network nor a host route. The gateway is the subnet's first address; guests get
the addresses after it. With --subnet-v6 guests also get the prefix plus the EUI-64 of their MAC,
announced by router advertisements.

--mode bridged --uplink IF puts the guests on the LAN of IF: IF joins the bridge vlb-NAME and
its addresses and routes move to the bridge until the network is removed. The LAN's DHCP server
gives guests their addresses; vmlan gives them stable MACs and runs no DHCP, DNS or NAT there.`,
    examples: [
      "vmlan network create lab  # the next free /24, NAT to the outside",
      "vmlan network create lab --subnet 10.70.0.0/24 --mode host  # host-only",
      "vmlan network create lab6 --subnet-v6 fd00:70::/64 --label team=infra",
      "vmlan network create lab --mode host --replace  # change it (nothing attached)",
      "vmlan network create lan --mode bridged --uplink eth1  # guests on eth1's LAN",
    ],
  },
  args: {
    name: { type: "positional", description: "Network name (letters, digits, _ . -)", required: true },
    subnet: { type: "string", valueHint: "CIDR", description: "IPv4 subnet, e.g. 192.168.70.0/24 (default: the next free /24 in 192.168.65-255; bridged: the uplink's)" },
    "subnet-v6": { type: "string", valueHint: "CIDR", description: "IPv6 prefix, /64 or shorter, e.g. fd00:70::/64" },
    mode: { type: "enum", options: ["shared", "host", "bridged"], description: "shared: NAT to the outside; host: host-only; bridged: guests on the LAN of --uplink", default: "shared" },
    uplink: { type: "string", valueHint: "IF", description: "bridged: the host interface to bridge (its addresses move to the bridge until rm)" },
    label: { type: "string", valueHint: "KEY=VALUE", description: "A label (repeatable)" },
    mtu: intFlag("MTU (576-65535; default 1500, bridged: the uplink's)", 576, 65535),
    dhcp: { type: "boolean", description: "Serve DHCP on the network (--no-dhcp: guests get no DHCP answers; off for bridged)", default: true },
    "dns-domain": { type: "string", valueHint: "DOMAIN", description: "DNS domain of the guests (default: <name>.vmlan)" },
    replace: { type: "boolean", description: "Recreate if it exists with another configuration and nothing is attached" },
    ...formatArgs,
  },
  async run({ args, rawArgs }) {
    const mtu = args.mtu === undefined ? undefined : Number(args.mtu); // checked by the flag's declaration before run
    // Only a --dhcp the user typed counts: its default depends on the mode (off for bridged).
    const dhcp = given(rawArgs, "dhcp") ? args.dhcp : undefined;
    const svc = await networkService(true);
    const { network, outcome } = await svc.create(
      {
        name: args.name, mode: args.mode, subnet: args.subnet, subnetV6: args["subnet-v6"], mtu, labels: parseLabels(repeated(rawArgs, "label")),
        dhcp, dnsDomain: args["dns-domain"], uplink: args.uplink,
      },
      { replace: args.replace },
    );
    await notifyServices();
    const format = formatFrom(args);
    if (format === "json") return renderRecord({ ...network, outcome }, format);
    note(`network "${network.name}" ${outcome}`);
    renderRecord({ name: network.name, mode: network.mode, uplink: network.uplink ?? undefined, subnet: network.subnet, gateway: network.gateway, ipv6: network.subnetV6 ?? undefined, bridge: network.bridge, dhcp: network.dhcp, domain: network.mode === "bridged" ? undefined : dnsDomainOf(network) }, format);
  },
});
