import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "stop", description: "Stop the broker; refused while clients hold networks unless --force" },
  args: { socket: { type: "string", description: "Broker socket path" }, force: { type: "boolean", description: "Stop even while networks are held" } },
  async run({ args }) {
    const { BrokerClient } = await import("../../../broker/client.ts");
    const client = BrokerClient.connect(args.socket);
    client.call("stop", { force: args.force ?? false });
    client.close();
    process.stdout.write("broker stopping\n");
  },
});
