// Carrying out a plan. Reservations need no host side, so these run on a real in-memory store with
// no platform; network create/change/delete are exercised through the binary in
// test/integration/cli/apply.test.ts.
import { describe, expect, test } from "bun:test";
import { services, addNetwork } from "../../../support/memory.ts";
import { parseApplyText } from "../../../../src/core/apply/file.ts";
import { planApply } from "../../../../src/core/apply/plan.ts";
import { executePlan, dryRunResult } from "../../../../src/core/apply/execute.ts";
import { ConflictError } from "../../../../src/core/errors.ts";

const FILE = `[[networks]]\nname = "lab"\nsubnet = "10.1.0.0/24"\n` +
  ["a", "b", "c"].map((id, i) => `[[networks.attachments]]\nid = "${id}"\nip = "10.1.0.${10 + i}"\n`).join("");

function setup() {
  const s = services();
  addNetwork(s.store, "lab", "10.1.0.0/24", { labels: { "vmlan.managed-by": "apply" } });
  return { ...s, plan: planApply(parseApplyText(FILE, "t.toml"), s.store) };
}
const summary = (items: { status: string; name: string }[]) => items.map((i) => `${i.status} ${i.name}`);

describe("executePlan", () => {
  test("applies every change; the same plan worked out again is all noop", async () => {
    const s = setup();
    const r = await executePlan(s.plan, s);
    expect(summary(r.items)).toEqual(["noop lab", "applied lab/a", "applied lab/b", "applied lab/c"]);
    expect(r.items[1]!.detail).toStartWith("10.1.0.10, ");
    expect(r.exitCode).toBe(0);
    const again = await executePlan(planApply(parseApplyText(FILE, "t.toml"), s.store), s);
    expect(summary(again.items)).toEqual(["noop lab", "noop lab/a", "noop lab/b", "noop lab/c"]);
    expect(s.leases.list("lab").map((a) => a.address)).toEqual(["10.1.0.10", "10.1.0.11", "10.1.0.12"]);
  });

  test("the first failure stops the run: earlier items stay applied, later ones are not attempted", async () => {
    const s = setup();
    s.leases.attach({ network: "lab", id: "intruder", ip: "10.1.0.11" }); // after planning: b now collides
    const r = await executePlan(s.plan, s);
    expect(summary(r.items)).toEqual(["noop lab", "applied lab/a", "failed lab/b", "not-attempted lab/c"]);
    expect(r.items[2]!.error).toBeInstanceOf(ConflictError);
    expect(r.items[2]!.error!.message).toBe(`address 10.1.0.11 on "lab" is taken by id "intruder"`);
    expect(r.exitCode).toBe(4);
    expect(s.leases.list("lab").map((a) => a.id).sort()).toEqual(["a", "intruder"]);
  });

  test("refused items are skipped without stopping the rest; exit 4", async () => {
    const s = services();
    addNetwork(s.store, "lab", "10.1.0.0/24");
    s.leases.attach({ network: "lab", id: "b", ip: "10.1.0.99" });
    const r = await executePlan(planApply(parseApplyText(FILE, "t.toml"), s.store), s);
    expect(summary(r.items)).toEqual(["noop lab", "applied lab/a", "refused lab/b", "applied lab/c"]);
    expect(r.exitCode).toBe(4);
  });

  test("dry run: changes are 'planned', the store is untouched", () => {
    const s = setup();
    const r = dryRunResult(s.plan);
    expect(summary(r.items)).toEqual(["noop lab", "planned lab/a", "planned lab/b", "planned lab/c"]);
    expect(r.exitCode).toBe(0);
    expect(s.leases.list()).toEqual([]);
  });
});
