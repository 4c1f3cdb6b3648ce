import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { networkService } from "../../context.ts";
import { printResults } from "./results.ts";

export default defineCommand({
  meta: { name: "start", description: "Create the built-in default network if absent and bring every stored network up" },
  args: { ...formatArgs },
  async run({ args }) {
    const svc = await networkService(true);
    printResults(await svc.startAll(), args);
  },
});
