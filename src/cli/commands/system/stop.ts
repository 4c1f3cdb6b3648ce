import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { networkService } from "../../context.ts";
import { printResults } from "./results.ts";
import { formatFrom } from "../../output.ts";
import { stopServices } from "../../../services/control.ts";

export default defineCommand({
  meta: {
    name: "stop",
    description: "Take every network's host side down",
    details: `Stops the DHCP and DNS daemon, then removes bridges and rules. Definitions and leases stay in the
store for the next \`vmlan system start\`.`,
    examples: ["vmlan system stop"],
  },
  args: { ...formatArgs },
  async run({ args }) {
    const svc = await networkService(true);
    // The services first: their sockets are bound to the bridges that stopAll removes.
    const services = await stopServices();
    if (formatFrom(args) !== "json" && services === "stopped") process.stdout.write("services: stopped\n");
    printResults(await svc.stopAll(), args);
  },
});
