import { defineCommand } from "citty";
import { openStore } from "../context.ts";
import { exportState, toJson, toToml } from "../../core/apply/export.ts";

export default defineCommand({
  meta: {
    name: "export",
    description: "Print the networks as an apply file",
    details: "Every network except the built-in default, with its reserved attachments; `vmlan apply -f` reads it back.",
    examples: ["vmlan export > lab.toml", "vmlan export --format json"],
  },
  args: {
    format: { type: "enum", options: ["toml", "json"], description: "toml or json", default: "toml" },
    json: { type: "boolean", description: "Same as --format json" },
  },
  run({ args }) {
    const doc = exportState(openStore());
    const header = ["vmlan apply file, written by `vmlan export`. Apply it with: vmlan apply -f <this file>"];
    process.stdout.write(args.json || args.format === "json" ? toJson(doc) : toToml(doc, header));
  },
});
