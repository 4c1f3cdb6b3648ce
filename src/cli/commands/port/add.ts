import { defineCommand } from "citty";
import { formatArgs, positionals } from "../_args.ts";
import { formatFrom, note, printJson } from "../../output.ts";
import { UsageError } from "../../../core/errors.ts";
import { parsePortSpecs, SPEC_FORMAT } from "../../../core/ports/spec.ts";
import { portsChanged, portService } from "../../ports.ts";
import { portRecord } from "../../display/port.ts";

export default defineCommand({
  meta: {
    name: "add",
    description: "Publish host ports to an attachment's guest",
    usage: "NETWORK --id ID SPEC...",
    details: `SPEC is ${SPEC_FORMAT} (default address 127.0.0.1, default protocol tcp). The
attachment must exist (vmlan attach, a helper, a VM); the ports are in effect while it is attached.
A host port another attachment publishes, or another program has bound, is refused (exit 4) and
names the holder; a bad SPEC exits 2; nothing is stored unless every SPEC is accepted.`,
    examples: [
      "vmlan port add default --id web 8080:80",
      "vmlan port add default --id web 0.0.0.0:8000-8009:8000-8009 '[::]:8080:80'",
    ],
  },
  args: {
    network: { type: "positional", valueHint: "NETWORK", description: "Network name", required: true },
    id: { type: "string", valueHint: "ID", description: "Interface id (the attachment)", required: true },
    spec: { type: "positional", valueHint: "SPEC...", description: `Port spec(s): ${SPEC_FORMAT}`, required: true },
    ...formatArgs,
  },
  async run({ args }) {
    const values = positionals(args).slice(1);
    if (values.length === 0) throw new UsageError(`missing SPEC: use \`vmlan port add ${args.network} --id ${args.id} 8080:80\``);
    const specs = parsePortSpecs(values, "SPEC");
    const svc = await portService();
    const { added, unchanged } = await svc.add(args.network, args.id, specs);
    if (!(await portsChanged()) && added.length > 0) {
      if (process.platform === "linux") note("note: the services daemon is not running (vmlan system start): the kernel rules are in place, but nothing holds the host ports against other programs, [::1] is not served, and ports of attachments that end without vmlan (a killed helper) stay until it runs");
      else note("note: the services daemon is not running (vmlan system start): ports vmnet does not forward itself (127.0.0.1, [::1], one address, host-only networks) are relayed by it, and do nothing until it runs");
    }
    if (formatFrom(args) === "json") return printJson({ added: added.map(portRecord), unchanged: unchanged.map(portRecord) });
    for (const p of added) process.stdout.write(`published ${p.spec} -> ${p.id} on ${p.network}${p.state === "active" ? "" : ` (${p.state}: ${p.detail})`}\n`);
    for (const p of unchanged) process.stdout.write(`unchanged ${p.spec} -> ${p.id} on ${p.network}\n`);
  },
});
