import { defineCommand } from "citty";

export default defineCommand({
  meta: {
    name: "stop",
    description: "Stop the broker (refused while networks are held)",
    examples: ["vmlan broker stop", "vmlan broker stop --force  # even while clients hold networks"],
  },
  args: { socket: { type: "string", valueHint: "PATH", description: "Broker socket path" }, force: { type: "boolean", description: "Stop even while networks are held" } },
  async run({ args }) {
    const { BrokerClient } = await import("../../../broker/client.ts");
    const client = BrokerClient.connect(args.socket);
    client.call("stop", { force: args.force ?? false });
    client.close();
    process.stdout.write("broker stopping\n");
  },
});
