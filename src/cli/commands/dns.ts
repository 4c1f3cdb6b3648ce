import { defineCommand } from "citty";
import { formatArgs, positionals } from "./_args.ts";
import { formatFrom, printJson } from "../output.ts";
import { networkService } from "../context.ts";
import { dnsDomainOf, type Network } from "../../core/resources/network.ts";
import { UsageError } from "../../core/errors.ts";

function served(n: Network): Network {
  if (n.mode === "bridged") throw new UsageError(`network "${n.name}" is bridged: vmlan serves no DNS there (the LAN's resolver does)`);
  return n;
}

/** How the host resolves one network's guest names: per-link DNS (systemd-resolved) on Linux, /etc/resolver on macOS. */
export function resolverRecipe(n: Network, os: string): { network: string; domain: string; server: string; file?: string; content?: string; commands?: string[] } {
  const domain = dnsDomainOf(n);
  const base = { network: n.name, domain, server: n.gateway };
  if (os === "darwin") return { ...base, file: `/etc/resolver/${domain}`, content: `nameserver ${n.gateway}\n` };
  return { ...base, commands: [`resolvectl dns ${n.bridge} ${n.gateway}`, `resolvectl domain ${n.bridge} '~${domain}'`] };
}

export default defineCommand({
  meta: {
    name: "dns",
    description: "Print how to resolve guest names from the host",
    details: `Guests are <host>.<network>.vmlan (or the network's --dns-domain), answered by each gateway. On
Linux this prints the resolvectl lines for each bridge, on macOS the /etc/resolver file.`,
    examples: ["vmlan dns", "vmlan dns lab --format json"],
  },
  args: {
    network: { type: "positional", valueHint: "NETWORK...", description: "Network name(s) (default: all)", required: false },
    ...formatArgs,
  },
  async run({ args }) {
    const svc = await networkService(false);
    const names = positionals(args);
    // Bridged networks have no vmlan DNS: their LAN's resolver serves them.
    const nets = names.length ? names.map((n) => served(svc.get(n))) : svc.store.listNetworks().filter((n) => n.mode !== "bridged");
    const recipes = nets.map((n) => resolverRecipe(n, process.platform));
    if (formatFrom(args) === "json") return printJson(recipes);
    for (const r of recipes) {
      process.stdout.write(`# ${r.network}: names under ${r.domain} are answered by ${r.server} (vmlan services)\n`);
      if (r.commands) process.stdout.write(`${r.commands.join("\n")}\n`);
      else process.stdout.write(`sudo mkdir -p /etc/resolver && echo '${r.content!.trim()}' | sudo tee ${r.file}\n`);
    }
    if (process.platform !== "darwin" && recipes.length) {
      process.stdout.write("# resolvectl settings last until the link goes away (system stop/start); re-run them after.\n");
    }
  },
});
