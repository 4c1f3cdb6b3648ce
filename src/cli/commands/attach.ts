import { defineCommand } from "citty";
import { formatArgs } from "./_args.ts";
import { formatFrom, renderRecord } from "../output.ts";
import { leaseService } from "../context.ts";
import { attachmentRecord } from "../display/attachment.ts";

export default defineCommand({
  meta: { name: "attach", description: "Allocate an address, MAC and hostname for an interface (idempotent per id)" },
  args: {
    network: { type: "positional", description: "Network name", required: true },
    id: { type: "string", description: "Interface id (stable: the same id always gets the same address and MAC)", required: true },
    hostname: { type: "string", description: "Hostname (default: derived from the id)" },
    ip: { type: "string", description: "Reserve this IPv4 address" },
    mac: { type: "string", description: "Use this MAC (unicast)" },
    ...formatArgs,
  },
  run({ args }) {
    const { attachment, created } = leaseService().attach({ network: args.network, id: args.id, hostname: args.hostname, ip: args.ip, mac: args.mac });
    const format = formatFrom(args);
    renderRecord(format === "json" ? { ...attachment, created } : attachmentRecord(attachment), format);
  },
});
