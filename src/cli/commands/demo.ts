import { defineCommand } from "citty";
import { formatArgs } from "./_args.ts";
import { intFlag } from "../flags.ts";
import { formatFrom, note, printJson, table } from "../output.ts";
import { vmDeps } from "./vm/_deps.ts";

export default defineCommand({
  meta: {
    name: "demo",
    description: "Two guests on the default network, measured",
    details: `Boots two small guests on the default network (created if absent), shows them reaching each
other and the host, prints the ping round trip and TCP throughput, and stops them again. \`npm
start\` runs it.`,
    examples: ["vmlan demo", "vmlan demo --mb 64 --native"],
  },
  args: {
    mb: intFlag("MiB to send in each throughput test (default 16)", 1, 4096, { valueHint: "MIB" }),
    network: { type: "string", valueHint: "NAME", description: "Network to use (default: the built-in default network, created if absent)" },
    native: { type: "boolean", description: "Attach the guests natively (TAP fd to QEMU) instead of through `vmlan helper`" },
    ...formatArgs,
  },
  async run({ args }) {
    const mb = args.mb === undefined ? 16 : Number(args.mb);
    const deps = await vmDeps();
    // Both guests give the same notes (the accelerator): print each once.
    const seen = new Set<string>();
    deps.log = (msg) => { if (!seen.has(msg)) { seen.add(msg); note(msg); } };
    deps.backend.ensureInstalled(note); // a fresh machine after `npm install` has no QEMU yet
    let network = args.network;
    if (!network) network = (await deps.networks.ensureDefault()).network.name; // same path as `system start`
    const { runDemo } = await import("../../vm/demo.ts");
    const r = await runDemo(deps, { network, mb, attachment: args.native ? "native" : "helper" });
    if (formatFrom(args) === "json") return printJson(r);
    note("");
    process.stdout.write(table(r.guests, [
      { header: "GUEST", value: (g) => g.name },
      { header: "ADDRESS", value: (g) => g.address },
      { header: "MAC", value: (g) => g.mac },
      { header: "BOOT", value: (g) => `${(g.bootMs / 1000).toFixed(1)} s` },
    ]));
    const [a, b] = r.guests;
    process.stdout.write([
      ``,
      `network ${r.network}, accelerator ${r.accel}, attachment ${r.attachment}`,
      `ping ${b!.name} -> ${a!.name}:   ${r.pingGuestMs.toFixed(3)} ms average round trip`,
      `ping ${b!.name} -> host:   ${r.pingGatewayMs.toFixed(3)} ms average round trip`,
      `TCP ${b!.name} -> ${a!.name}:    ${r.guestToGuestMbps} Mbit/s (${r.transferMb} MiB, busybox nc)`,
      `TCP ${b!.name} -> host:    ${r.guestToHostMbps} Mbit/s (${r.transferMb} MiB)`,
      `guests stopped, leases released`,
      ``,
    ].join("\n"));
  },
});
