// `ports` under an apply file's attachments: parsed and checked with the file, planned from the
// store (publish / unchanged / conflict), carried out through PortService, written back by export.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addNetwork, services } from "../../../support/memory.ts";
import { parseApplyText } from "../../../../src/core/apply/file.ts";
import { planApply } from "../../../../src/core/apply/plan.ts";
import { executePlan } from "../../../../src/core/apply/execute.ts";
import { exportState, toToml } from "../../../../src/core/apply/export.ts";
import { PortService } from "../../../../src/core/ports/service.ts";
import { parsePortSpecs } from "../../../../src/core/ports/spec.ts";
import { Store } from "../../../../src/core/store/store.ts";
import type { PortPublisher } from "../../../../src/platform/types.ts";

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const file = (ports: string) => `[[networks]]\nname = "lab"\nsubnet = "10.1.0.0/24"\n[[networks.attachments]]\nid = "web"\n${ports}\n`;

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "vmlan-apply-ports-"));
  dirs.push(dir);
  const s = services(new Store(join(dir, "vmlan.db")));
  addNetwork(s.store, "lab", "10.1.0.0/24", { subnetV6: "fd00:1::/64", labels: { "vmlan.managed-by": "apply" } });
  const host: PortPublisher = { syncPorts: async () => {}, instance: () => "x", probeHostPort: () => null, withLock: (_p, fn) => fn() };
  return { ...s, ports: new PortService(s.store, host) };
}
const actions = (s: ReturnType<typeof setup>, text: string) => planApply(parseApplyText(text, "f.toml"), s.store).items.map((i) => `${i.action} ${i.kind} ${i.detail}`);

describe("apply with ports", () => {
  test("published, then unchanged; a changed list replaces them; no key leaves them alone", async () => {
    const s = setup();
    const plan = planApply(parseApplyText(file(`ports = ["8080:80", "0.0.0.0:53:53/udp"]`), "f.toml"), s.store);
    expect(plan.items.map((i) => `${i.action} ${i.kind}`)).toEqual(["unchanged network", "reserve attachment", "publish ports"]);
    const r = await executePlan(plan, s);
    expect(r.exitCode).toBe(0);
    expect(s.ports.list("lab").map((p) => [p.spec, p.state])).toEqual([["127.0.0.1:8080:80/tcp", "active"], ["0.0.0.0:53:53/udp", "active"]]);
    expect(actions(s, file(`ports = ["8080:80", "0.0.0.0:53:53/udp"]`))).toContain("unchanged ports 127.0.0.1:8080:80/tcp, 0.0.0.0:53:53/udp");
    expect(actions(s, file(`ports = ["8081:80"]`))).toContain("publish ports +127.0.0.1:8081:80/tcp, -127.0.0.1:8080:80/tcp, -0.0.0.0:53:53/udp");
    expect(actions(s, file(""))).toEqual(["unchanged network matches the file", expect.stringMatching(/^unchanged attachment /)]);
  });

  test("a port another attachment publishes, or another attachment of the file claims, is a conflict", async () => {
    const s = setup();
    s.leases.attach({ network: "lab", id: "other" });
    await s.ports.add("lab", "other", parsePortSpecs(["0.0.0.0:8080:80"]));
    expect(actions(s, file(`ports = ["8080:80"]`)).at(-1)).toBe('conflict ports 127.0.0.1:8080:80/tcp is published by "other" on "lab" (0.0.0.0:8080:80/tcp)');
    const two = `${file(`ports = ["9090:80"]`)}[[networks.attachments]]\nid = "web2"\nports = ["0.0.0.0:9090:80"]\n`;
    expect(actions(s, two).at(-1)).toBe('conflict ports 0.0.0.0:9090:80/tcp overlaps 127.0.0.1:9090:80/tcp of lab/web in the file');
  });

  test("bad ports are file errors with their key path", () => {
    expect(() => parseApplyText(file(`ports = ["8080"]`), "f.toml")).toThrow('networks[0].attachments[0].ports[0]: invalid port spec "8080"');
    expect(() => parseApplyText(file(`ports = ["8080:80", "0.0.0.0:8080:81"]`), "f.toml")).toThrow("overlaps 127.0.0.1:8080:80/tcp given before it");
  });

  test("export writes them as a person would (defaults left out) and they apply back the same", async () => {
    const s = setup();
    s.leases.attach({ network: "lab", id: "web" });
    await s.ports.add("lab", "web", parsePortSpecs(["8080:80", "[::]:8443:443", "0.0.0.0:5000-5001:6000-6001/udp"]));
    const toml = toToml(exportState(s.store));
    expect(toml).toContain(`ports = ["8080:80", "[::]:8443:443", "0.0.0.0:5000-5001:6000-6001/udp"]`);
    const doc = parseApplyText(toml, "e.toml");
    expect(doc.networks[0]!.attachments[0]!.ports!.length).toBe(3);
    expect(planApply(doc, s.store).items.find((i) => i.kind === "ports")!.action).toBe("unchanged");
  });
});
