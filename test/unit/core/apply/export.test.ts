// export → parse round-trips (TOML and JSON); the built-in network and the managed label stay out.
import { describe, expect, test } from "bun:test";
import { services, addNetwork } from "../../../support/memory.ts";
import { exportState, toToml, toJson } from "../../../../src/core/apply/export.ts";
import { parseApplyText } from "../../../../src/core/apply/file.ts";
import { buildNetwork, parseRequest } from "../../../../src/core/network-config.ts";
import { DEFAULT_NETWORK } from "../../../../src/core/resources/network.ts";

function populated() {
  const s = services();
  s.store.tx(() => s.store.insertNetwork(buildNetwork(parseRequest(DEFAULT_NETWORK), DEFAULT_NETWORK.subnet, "vl-default", "now", true)));
  s.leases.attach({ network: "default", id: "on-default" });
  addNetwork(s.store, "lab", "10.1.0.0/24", { subnetV6: "fd00:1::/64", mtu: 1400, mode: "host", labels: { team: "net", "a.b/c": "x=y", "vmlan.managed-by": "apply" } });
  addNetwork(s.store, "plain", "10.2.0.0/24");
  addNetwork(s.store, "quiet", "10.3.0.0/24", { dhcp: false, dnsDomain: "quiet.example" });
  s.leases.attach({ network: "lab", id: "web-1", hostname: "web" });
  s.leases.attach({ network: "lab", id: "db", ip: "10.1.0.50", mac: "52:54:00:00:00:50" });
  s.leases.attach({ network: "lab", id: "left" });
  s.leases.detach("lab", "left"); // released: not exported
  return s;
}

describe("export", () => {
  test("networks except the built-in one; active attachments with explicit ip, mac and hostname", () => {
    const doc = exportState(populated().store);
    expect(doc).toEqual({
      version: 1,
      networks: [
        {
          name: "lab", mode: "host", subnet: "10.1.0.0/24", subnet_v6: "fd00:1::/64", mtu: 1400, labels: { "a.b/c": "x=y", team: "net" },
          attachments: [
            { id: "web-1", hostname: "web", ip: "10.1.0.2", mac: expect.stringMatching(/^[0-9a-f:]{17}$/) },
            { id: "db", hostname: "db", ip: "10.1.0.50", mac: "52:54:00:00:00:50" },
          ],
        },
        { name: "plain", mode: "shared", subnet: "10.2.0.0/24", mtu: 1500 },
        { name: "quiet", mode: "shared", subnet: "10.3.0.0/24", mtu: 1500, dhcp: false, dns_domain: "quiet.example" },
      ],
    });
  });

  test("TOML and JSON outputs parse back to the same networks", () => {
    const doc = exportState(populated().store);
    const toml = toToml(doc, ["a header"]);
    expect(toml).toStartWith("# a header\nversion = 1\n\n[[networks]]\nname = \"lab\"\n");
    expect(toml).toContain(`labels = { "a.b/c" = "x=y", team = "net" }`);
    for (const [text, file] of [[toml, "x.toml"], [toJson(doc), "x.json"]] as const) {
      const back = parseApplyText(text, file);
      expect(back.networks).toEqual(doc.networks!.map((n) => ({ labels: {}, attachments: [], ...n })) as never);
    }
  });

  test("a bridged network: its uplink, no dhcp key (off is its default), attachments without ip; the file parses back", () => {
    const s = services();
    const n = buildNetwork(parseRequest({ name: "lan", mode: "bridged", uplink: "eno1" }), "192.168.1.0/24", "vlb-lan", "now", false, { gateway: "192.168.1.1", mtu: 1500 });
    s.store.tx(() => s.store.insertNetwork(n));
    const mac = s.leases.attach({ network: "lan", id: "vm1" }).attachment.mac;
    const doc = exportState(s.store);
    expect(doc.networks).toEqual([{ name: "lan", mode: "bridged", uplink: "eno1", subnet: "192.168.1.0/24", mtu: 1500, attachments: [{ id: "vm1", hostname: "vm1", mac }] }]);
    expect(parseApplyText(toToml(doc), "b.toml").networks[0]).toMatchObject({ mode: "bridged", uplink: "eno1", attachments: [{ id: "vm1", mac }] });
  });

  test("an empty state exports an empty file that applies cleanly", () => {
    const text = toToml(exportState(services().store));
    expect(text).toBe("version = 1\nnetworks = []\n");
    expect(parseApplyText(text, "e.toml").networks).toEqual([]);
  });
});
