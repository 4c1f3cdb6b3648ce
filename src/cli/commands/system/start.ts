import { defineCommand } from "citty";
import { formatArgs } from "../_args.ts";
import { networkService } from "../../context.ts";
import { printResults } from "./results.ts";
import { formatFrom } from "../../output.ts";
import { startServices } from "../../../services/control.ts";

export default defineCommand({
  meta: { name: "start", description: "Create the built-in default network if absent and bring every stored network up" },
  args: { ...formatArgs },
  async run({ args }) {
    const svc = await networkService(true);
    printResults(await svc.startAll(), args);
    // DHCP and DNS for the guests (src/services): Linux only; on macOS vmnet serves DHCP itself.
    if (svc.platform?.os === "linux") {
      const s = await startServices();
      if (formatFrom(args) !== "json") process.stdout.write(`services: ${s.outcome} (pid ${s.pid}, log ${s.log})\n`);
    }
  },
});
