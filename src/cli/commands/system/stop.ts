import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { networkService } from "../../context.ts";
import { printResults } from "./results.ts";

export default defineCommand({
  meta: { name: "stop", description: "Take every network's host side down (definitions and leases stay stored)" },
  args: { ...formatArgs },
  async run({ args }) {
    const svc = await networkService(true);
    printResults(await svc.stopAll(), args);
  },
});
