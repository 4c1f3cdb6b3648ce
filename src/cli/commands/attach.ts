import { defineCommand } from "citty";
import { formatArgs } from "./_args.ts";
import { formatFrom, renderRecord } from "../output.ts";
import { openStore } from "../context.ts";
import { LeaseService } from "../../core/leases.ts";
import { ownerPolicy } from "../owners.ts";
import { syncPortsAfter } from "../ports.ts";
import { attachmentRecord } from "../display/attachment.ts";

export default defineCommand({
  meta: {
    name: "attach",
    description: "Reserve an address, MAC and hostname for an interface",
    details: `Idempotent per id: attaching an active id returns its lease. The same id always gets the same
address and MAC, also after a detach, unless the pool ran out of never-used addresses. This only
reserves: \`vmlan helper\`, \`vmlan run\` and \`vm run\` connect a VM.`,
    examples: [
      "vmlan attach lab --id web",
      "vmlan attach lab --id db --ip 10.70.0.10 --hostname database",
      "vmlan attach lab --id web --format json",
    ],
  },
  args: {
    network: { type: "positional", description: "Network name", required: true },
    id: { type: "string", valueHint: "ID", description: "Interface id (stable: the same id always gets the same address and MAC)", required: true },
    hostname: { type: "string", valueHint: "NAME", description: "Hostname (default: derived from the id)" },
    ip: { type: "string", valueHint: "ADDRESS", description: "Reserve this IPv4 address" },
    mac: { type: "string", valueHint: "MAC", description: "Use this MAC (unicast)" },
    "allow-spoofing": { type: "boolean", description: "The attachment's ports get no anti-spoofing rules (its VM may send from any MAC or address)" },
    ...formatArgs,
  },
  async run({ args }) {
    const store = openStore();
    const allowSpoofing = args["allow-spoofing"] ? true : undefined; // absent: keep what is stored
    const { attachment, created } = new LeaseService(store, undefined, ownerPolicy).attach({ network: args.network, id: args.id, hostname: args.hostname, ip: args.ip, mac: args.mac, allowSpoofing });
    // Attached again: the ports stored with it are in effect once more.
    if (created && store.ports.list(args.network, args.id).length > 0) await syncPortsAfter(store);
    const format = formatFrom(args);
    renderRecord(format === "json" ? { ...attachment, created } : attachmentRecord(attachment), format);
  },
});
