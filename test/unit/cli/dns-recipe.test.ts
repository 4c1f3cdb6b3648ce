// `vmlan dns` on macOS prints the /etc/resolver/<domain> file; on Linux the resolvectl lines.
import { expect, test } from "bun:test";
import { resolverRecipe } from "../../../src/cli/commands/dns.ts";
import { buildNetwork, parseRequest } from "../../../src/core/network-config.ts";

const web = buildNetwork(parseRequest({ name: "web", subnet: "10.86.0.0/24" }), "10.86.0.0/24", "vl-web", "now");
const lab = buildNetwork(parseRequest({ name: "lab", subnet: "10.87.0.0/24", dnsDomain: "lab.example" }), "10.87.0.0/24", "vl-lab", "now");

test("macOS: one resolver file per domain, naming the gateway (vmlan's DNS on vmnet's bridge)", () => {
  expect(resolverRecipe(web, "darwin")).toEqual({ network: "web", domain: "web.vmlan", server: "10.86.0.1", file: "/etc/resolver/web.vmlan", content: "nameserver 10.86.0.1\n" });
  expect(resolverRecipe(lab, "darwin")).toMatchObject({ file: "/etc/resolver/lab.example", content: "nameserver 10.87.0.1\n" });
});

test("Linux: per-link DNS on the bridge", () => {
  expect(resolverRecipe(web, "linux").commands).toEqual(["resolvectl dns vl-web 10.86.0.1", "resolvectl domain vl-web '~web.vmlan'"]);
});
