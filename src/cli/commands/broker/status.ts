import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { formatFrom, printJson, table } from "../../output.ts";

export default defineCommand({
  meta: {
    name: "status",
    description: "Show the networks the broker holds, and who holds them",
    examples: ["vmlan broker status", "vmlan broker status --format json"],
  },
  args: { socket: { type: "string", valueHint: "PATH", description: "Broker socket path" }, ...formatArgs },
  async run({ args }) {
    const { BrokerClient } = await import("../../../broker/client.ts");
    const client = BrokerClient.connect(args.socket);
    const { result } = client.call("status", {});
    client.close();
    if (formatFrom(args) === "json") return printJson(result);
    const s = result as { pid: number; uptimeSeconds: number; networks: { name: string; up: boolean; teardownInSeconds: number | null; holders: { pid: number | null }[] }[] };
    process.stdout.write(`broker pid ${s.pid}, up ${s.uptimeSeconds}s\n`);
    process.stdout.write(table(s.networks, [
      { header: "NETWORK", value: (n) => n.name },
      { header: "UP", value: (n) => (n.up ? "yes" : "no") },
      { header: "HOLDERS", value: (n) => n.holders.length },
      { header: "PIDS", value: (n) => n.holders.map((h) => h.pid).join(",") || "-" },
      { header: "TEARDOWN IN", value: (n) => (n.teardownInSeconds === null ? "-" : `${n.teardownInSeconds}s`) },
    ]));
  },
});
