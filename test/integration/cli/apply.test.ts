// `vmlan apply` and `vmlan export` through the compiled binary. Every test gets its own namespace
// (vmlan-t-apply-<random>) and its own state dir, so bridge names never meet across tests.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVmlan } from "../../support/binary.ts";
import { Netns } from "../../support/netns.ts";

const SAMPLE = join(import.meta.dir, "../../fixtures/apply/sample.toml");
const cleanup: (() => void)[] = [];
afterAll(() => cleanup.forEach((f) => f()));

/** A namespace and a state dir, plus the views a test compares before and after. */
function world() {
  const name = `vmlan-t-apply-${randomBytes(3).toString("hex")}`;
  const add = Bun.spawnSync(["ip", "netns", "add", name], { stderr: "pipe" });
  if (add.exitCode !== 0) throw new Error(`ip netns add ${name}: ${add.stderr.toString()}`);
  const ns = new Netns(name);
  const dir = mkdtempSync(join(tmpdir(), "vmlan-apply-"));
  cleanup.push(() => ns.delete(), () => rmSync(dir, { recursive: true, force: true }));
  ns.sh(["ip", "link", "set", "lo", "up"]);
  const vmlan = (...args: string[]) => runVmlan(args, { env: { VMLAN_STATE_DIR: dir }, netns: name });
  const json = async (...args: string[]) => {
    const r = await vmlan(...args, "--format", "json");
    if (r.exitCode !== 0) throw new Error(`vmlan ${args.join(" ")}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const file = (base: string, text: string) => {
    const path = join(dir, base);
    writeFileSync(path, text);
    return path;
  };
  const bridges = () =>
    ns.ipJson<{ ifname: string; mtu: number; address: string }[]>(["link", "show", "type", "bridge"]).map((l) => `${l.ifname} mtu ${l.mtu} ${l.address}`).sort();
  const addrs = (dev: string) =>
    ns.ipJson<{ addr_info: { local: string; prefixlen: number; scope: string }[] }[]>(["addr", "show", "dev", dev])[0]!.addr_info
      .filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`);
  /** Store (networks, attachments incl. released) and kernel (bridges, addresses, nft tables and chains: each network has its own). */
  const snapshot = async () => ({
    networks: await json("network", "list"),
    attachments: await json("attachments", "--all"),
    bridges: bridges(),
    addresses: bridges().map((b) => addrs(b.split(" ")[0]!)),
    nft: ns.sh(["nft", "list", "chains"]).split("\n").sort(),
  });
  return { ns, dir, vmlan, json, file, bridges, addrs, snapshot };
}

type Item = { action: string; kind: string; name: string; status: string; detail: string; error?: { code: string; message: string } };
const statuses = (items: Item[]) => items.map((i) => `${i.status} ${i.action} ${i.name}`);
const stripTimes = (a: Record<string, unknown>[]) => a.map(({ createdAt: _c, updatedAt: _u, ...rest }) => rest);

describe("apply", () => {
  test("a sample file applied twice: created in the kernel the first time, 'nothing to change' the second (exit 0)", async () => {
    const w = world();
    const first = await w.vmlan("apply", "-f", SAMPLE);
    expect(first.exitCode).toBe(0);
    expect(first.stdout.split("\n")[0]).toMatch(/^ACTION\s+KIND\s+NAME\s+DETAIL$/);
    expect(first.stdout).toMatch(/created\s+network\s+lab\s+shared, 10\.91\.0\.0\/24, fd00:91::\/64, bridge vl-lab/);
    expect(first.stderr).toBe("applied 5, unchanged 0, refused 0, failed 0, not attempted 0\n");
    expect(w.addrs("vl-lab")).toEqual(["10.91.0.1/24", "fd00:91::1/64"]);
    expect(w.addrs("vl-isolated")).toEqual(["10.92.0.1/24"]);
    const nets = await w.json("network", "list");
    expect(nets.map((n: { name: string; labels: object; mtu: number }) => [n.name, n.mtu, n.labels])).toEqual([
      ["isolated", 1500, { "vmlan.managed-by": "apply" }],
      ["lab", 1400, { team: "net", "env.kind": "test", "vmlan.managed-by": "apply" }],
    ]);
    expect(await w.json("attachments", "lab")).toEqual([
      expect.objectContaining({ id: "web-1", address: "10.91.0.10", mac: "52:54:00:91:00:10", hostname: "web" }),
      expect.objectContaining({ id: "db-1", address: "10.91.0.20", hostname: "db-1" }),
    ]);

    const before = await w.snapshot();
    const second = await w.vmlan("apply", "-f", SAMPLE);
    expect(second.exitCode).toBe(0);
    expect(second.stderr).toBe(`nothing to change: ${SAMPLE} already matches the current state\n`);
    expect(second.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0])).toEqual(Array(5).fill("unchanged"));
    const asJson = await w.json("apply", "-f", SAMPLE);
    expect(asJson.summary).toMatchObject({ applied: 0, noop: 5, failed: 0 });
    expect(await w.snapshot()).toEqual(before);
  });

  test("--dry-run prints the plan and changes nothing: store, bridges, addresses, nft tables", async () => {
    const w = world();
    // On a state dir with no store yet: not even the database file is created.
    const fresh = await w.vmlan("apply", "-f", SAMPLE, "--dry-run");
    expect(fresh.exitCode).toBe(0);
    expect(fresh.stdout).toMatch(/create\s+network\s+lab/);
    expect(fresh.stderr).toBe("dry run: 5 change(s) planned, 0 unchanged, 0 refused; nothing was changed\n");
    expect(existsSync(join(w.dir, "vmlan.db"))).toBe(false);
    expect(w.bridges()).toEqual([]);

    expect((await w.vmlan("apply", "-f", SAMPLE)).exitCode).toBe(0);
    expect((await w.vmlan("apply", "-f", w.file("old.toml", `[[networks]]\nname = "old"\nsubnet = "10.97.9.0/24"\n`))).exitCode).toBe(0);
    expect((await w.vmlan("attach", "isolated", "--id", "stranger")).exitCode).toBe(0);
    const changed = w.file("changed.toml", [
      `[[networks]]\nname = "lab"\nsubnet = "10.91.0.0/24"\nsubnet_v6 = "fd00:91::/64"\nmtu = 1500\nlabels = { team = "net", "env.kind" = "test" }`,
      `[[networks.attachments]]\nid = "web-1"\nip = "10.91.0.11"`,
      `[[networks.attachments]]\nid = "db-1"`,
      `[[networks]]\nname = "isolated"\nmode = "shared"\nsubnet = "10.92.0.0/24"`,
      `[[networks]]\nname = "extra"\nsubnet = "10.97.0.0/24"`,
    ].join("\n"));
    const before = await w.snapshot();
    const dry = await w.vmlan("apply", "-f", changed, "--dry-run", "--prune", "--format", "json");
    expect(dry.exitCode).toBe(0);
    expect(statuses(JSON.parse(dry.stdout).items)).toEqual([
      "planned delete old", "planned change lab", "planned reserve lab/web-1", "planned reserve lab/db-1", "refused refuse isolated", "planned create extra",
    ]);
    expect(await w.snapshot()).toEqual(before);
  });

  test("a changed network is recreated when only its reserved attachments are attached; otherwise refused (exit 4) and the rest applied", async () => {
    const w = world();
    expect((await w.vmlan("apply", "-f", SAMPLE)).exitCode).toBe(0);
    expect((await w.vmlan("attach", "isolated", "--id", "stranger")).exitCode).toBe(0);
    const text = (await Bun.file(SAMPLE).text()).replace("mtu = 1400", "mtu = 1450").replace('mode = "host"', 'mode = "shared"');
    const r = await w.vmlan("apply", "-f", w.file("changed.toml", text), "--format", "json");
    expect(r.exitCode).toBe(4);
    const items: Item[] = JSON.parse(r.stdout).items;
    expect(statuses(items)).toEqual([
      "applied change lab", "applied reserve lab/web-1", "applied reserve lab/db-1", "refused refuse isolated", "refused refuse isolated/builder",
    ]);
    expect(items[0]!.detail).toBe("mtu: 1400 -> 1450 (recreated; 2 reserved attachment(s) reserved again): 10.91.0.0/24, bridge vl-lab");
    expect(items[3]!.detail).toContain("mode: host -> shared; refused: 1 active attachment(s) not in the file (stranger); detach them first");
    expect(w.bridges().filter((b) => b.startsWith("vl-lab "))).toEqual([expect.stringMatching(/^vl-lab mtu 1450 /)]);
    expect((await w.json("attachments", "lab")).map((a: { id: string; address: string; mac: string }) => [a.id, a.address, a.mac])).toEqual([
      ["web-1", "10.91.0.10", "52:54:00:91:00:10"], ["db-1", "10.91.0.20", expect.any(String)],
    ]);
    expect((await w.json("network", "inspect", "isolated"))[0].mode).toBe("host");
  });

  test("--prune deletes only networks labelled by apply; hand-made and built-in networks survive", async () => {
    const w = world();
    expect((await w.vmlan("system", "start")).exitCode).toBe(0);
    expect((await w.vmlan("network", "create", "hand", "--subnet", "10.98.0.0/24")).exitCode).toBe(0);
    const both = w.file("both.toml", `[[networks]]\nname = "alpha"\nsubnet = "10.99.1.0/24"\n[[networks]]\nname = "beta"\nsubnet = "10.99.2.0/24"\n`);
    const one = w.file("one.toml", `[[networks]]\nname = "alpha"\nsubnet = "10.99.1.0/24"\n`);
    expect((await w.vmlan("apply", "-f", both)).exitCode).toBe(0);

    const kept = await w.vmlan("apply", "-f", one);
    expect(kept.exitCode).toBe(0);
    expect(kept.stdout).toMatch(/keep\s+network\s+beta\s+not in file \(use --prune to delete\)/);
    expect(w.bridges().map((b) => b.split(" ")[0])).toContain("vl-beta");

    const pruned = await w.vmlan("apply", "-f", one, "--prune", "--format", "json");
    expect(pruned.exitCode).toBe(0);
    expect(statuses(JSON.parse(pruned.stdout).items)).toEqual(["applied delete beta", "noop unchanged alpha"]);
    expect(w.bridges().map((b) => b.split(" ")[0]).sort()).toEqual(["vl-alpha", "vl-default", "vl-hand"]);
    expect((await w.json("network", "list")).map((n: { name: string }) => n.name)).toEqual(["default", "alpha", "hand"]);
    // An empty file with --prune still leaves hand-made and built-in networks alone.
    const empty = w.file("empty.toml", "networks = []\n");
    expect((await w.vmlan("apply", "-f", empty, "--prune")).exitCode).toBe(0);
    expect((await w.json("network", "list")).map((n: { name: string }) => n.name)).toEqual(["default", "hand"]);
  });

  test("bad files are refused whole: exit 2, file + key path + value named, nothing changed", async () => {
    const w = world();
    expect((await w.vmlan("apply", "-f", SAMPLE)).exitCode).toBe(0);
    expect((await w.vmlan("network", "create", "hand", "--subnet", "10.96.0.0/24")).exitCode).toBe(0);
    // Each file starts with a valid new network, so "nothing changed" also proves nothing ran before validation ended.
    const ok = `[[networks]]\nname = "fresh"\nsubnet = "10.95.0.0/24"\n`;
    const cases: [string, string, string][] = [
      ["unknown-key.toml", `${ok}[[networks]]\nname = "x"\ncolour = "blue"\n`, `networks[1].colour: unknown key "colour"`],
      ["bad-cidr.toml", `${ok}[[networks]]\nname = "x"\nsubnet = "10.1.0.1/24"\n`, `networks[1].subnet: invalid subnet "10.1.0.1/24": host bits are set`],
      ["dup-name.json", `{"networks": [{"name": "fresh", "subnet": "10.95.0.0/24"}, {"name": "fresh"}]}`, `networks[1].name: duplicate network name "fresh" (also networks[0])`],
      ["overlap.toml", `${ok}[[networks]]\nname = "x"\nsubnet = "10.95.0.128/25"\n`, `networks[1].subnet: subnet 10.95.0.128/25 overlaps networks[0] "fresh" (10.95.0.0/24)`],
      ["overlap-existing.toml", `${ok}[[networks]]\nname = "x"\nsubnet = "10.96.0.0/16"\n`, `networks[1].subnet: subnet 10.96.0.0/16 overlaps existing network "hand" (10.96.0.0/24), which is not in the file`],
      ["ip-outside.toml", `${ok}[[networks.attachments]]\nid = "vm"\nip = "10.91.0.5"\n`, `networks[0].attachments[0].ip: IP address 10.91.0.5 is outside the subnet 10.95.0.0/24 of "fresh"`],
    ];
    const before = await w.snapshot();
    for (const [base, text, message] of cases) {
      const path = w.file(base, text);
      const r = await w.vmlan("apply", "-f", path);
      expect({ base, exitCode: r.exitCode, stderr: r.stderr }).toEqual({ base, exitCode: 2, stderr: `error: ${path}: ${message}\n`.replace(/: host bits are set\n$/, ": host bits are set; did you mean 10.1.0.0/24?\n") });
      expect(r.stdout).toBe("");
    }
    const j = await w.vmlan("apply", "-f", join(w.dir, "unknown-key.toml"), "--format", "json");
    expect(j.exitCode).toBe(2);
    expect(JSON.parse(j.stderr).error).toMatchObject({ code: "EAPPLYFILE", details: { problems: [{ path: "networks[1].colour", message: `unknown key "colour"` }] } });
    expect(await w.snapshot()).toEqual(before);
  });

  test("a failure in the middle: earlier networks applied, the failed one named with its error, the rest not attempted", async () => {
    const w = world();
    // An interface with beta's bridge name that is not vmlan's: create must refuse to take it over.
    w.ns.sh(["ip", "link", "add", "vl-beta", "type", "veth", "peer", "name", "vl-beta-peer"]);
    const abc = w.file("abc.toml", ["alpha", "beta", "gamma"].map((n, i) =>
      `[[networks]]\nname = "${n}"\nsubnet = "10.89.${i}.0/24"\n[[networks.attachments]]\nid = "vm-${n}"\n`).join(""));
    const r = await w.vmlan("apply", "-f", abc, "--format", "json");
    expect(r.exitCode).toBe(4);
    const out = JSON.parse(r.stdout);
    expect(statuses(out.items)).toEqual([
      "applied create alpha", "applied reserve alpha/vm-alpha", "failed create beta",
      "not-attempted reserve beta/vm-beta", "not-attempted create gamma", "not-attempted reserve gamma/vm-gamma",
    ]);
    expect(out.items[2].error).toMatchObject({ code: "ECONFLICT", message: expect.stringContaining("vl-beta") });
    expect(out.summary).toMatchObject({ applied: 2, failed: 1, "not-attempted": 3 });
    expect(w.bridges().map((b) => b.split(" ")[0])).toEqual(["vl-alpha"]);
    expect((await w.json("network", "list")).map((n: { name: string }) => n.name)).toEqual(["alpha"]);

    // The same in a table, run again: alpha is now unchanged, beta fails the same way.
    const again = await w.vmlan("apply", "-f", abc);
    expect(again.exitCode).toBe(4);
    const lines = again.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s{2,}/).slice(0, 3).join(" | "));
    expect(lines).toEqual([
      "unchanged | network | alpha", "unchanged | attachment | alpha/vm-alpha", "failed | network | beta",
      "not attempted | attachment | beta/vm-beta", "not attempted | network | gamma", "not attempted | attachment | gamma/vm-gamma",
    ]);
    expect(again.stderr).toMatch(/^applied 0, unchanged 2, refused 0, failed 1, not attempted 3\nerror: apply stopped at network "beta": .*vl-beta.*; 3 later change\(s\) not attempted\n$/);

    w.ns.sh(["ip", "link", "del", "vl-beta"]);
    const fixed = await w.vmlan("apply", "-f", abc);
    expect(fixed.exitCode).toBe(0);
    expect(fixed.stderr).toBe("applied 4, unchanged 2, refused 0, failed 0, not attempted 0\n");
  });
});

describe("export", () => {
  test("export → apply into a fresh state dir (and namespace) gives the same networks, addresses and MACs", async () => {
    const a = world();
    expect((await a.vmlan("system", "start")).exitCode).toBe(0);
    expect((await a.vmlan("apply", "-f", SAMPLE)).exitCode).toBe(0);
    expect((await a.vmlan("network", "create", "hand", "--subnet", "10.88.0.0/24", "--mode", "host", "--label", "owner=me")).exitCode).toBe(0);
    for (const id of ["dyn-1", "dyn-2"]) expect((await a.vmlan("attach", "hand", "--id", id)).exitCode).toBe(0);
    expect((await a.vmlan("attach", "lab", "--id", "extra")).exitCode).toBe(0);
    expect((await a.vmlan("attach", "default", "--id", "on-default")).exitCode).toBe(0);

    const toml = await a.vmlan("export");
    expect(toml.exitCode).toBe(0);
    expect(toml.stdout).not.toContain(`name = "default"`);
    expect(toml.stdout).not.toContain("managed-by");
    const json = await a.vmlan("export", "--format", "json");
    expect(JSON.parse(json.stdout)).toEqual(Bun.TOML.parse(toml.stdout) as object);

    const b = world();
    const path = b.file("export.toml", toml.stdout);
    const r = await b.vmlan("apply", "-f", path);
    expect(r.exitCode).toBe(0);
    const view = async (w: ReturnType<typeof world>) => ({
      networks: (await w.json("network", "list"))
        .filter((n: { builtin: boolean }) => !n.builtin)
        .map(({ createdAt: _c, attachments: _a, labels, ...n }: Record<string, unknown>) => ({ ...n, labels: { ...(labels as object), "vmlan.managed-by": "apply" } })),
      attachments: stripTimes(await w.json("attachments")).filter((x) => x.network !== "default"),
      addresses: w.bridges().filter((l) => !l.startsWith("vl-default")).map((l) => [l.split(" ")[0], l.split(" ")[2], w.addrs(l.split(" ")[0]!)]),
    });
    const [va, vb] = [await view(a), await view(b)];
    expect(vb.networks).toEqual(va.networks);
    expect(vb.attachments).toEqual(va.attachments);
    expect(vb.attachments).toHaveLength(6);
    expect(vb.addresses.map(([n, , ad]) => [n, ad])).toEqual(va.addresses.map(([n, , ad]) => [n, ad]));
    // And exporting the copy gives the same file back.
    expect((await b.vmlan("export")).stdout).toBe(toml.stdout);
  });
});

describe("idempotent verbs", () => {
  test("create same → unchanged; different → exit 2 one-line diff unless --replace; rm/detach --if-exists; attach same id", async () => {
    const w = world();
    const create = ["network", "create", "idem", "--subnet", "10.87.0.0/24"];
    expect((await w.json(...create)).outcome).toBe("created");
    const same = await w.vmlan(...create);
    expect([same.exitCode, same.stderr]).toEqual([0, `network "idem" unchanged\n`]);
    const diff = await w.vmlan(...create, "--mtu", "1400");
    expect([diff.exitCode, diff.stderr]).toEqual([2, `error: network "idem" exists with a different configuration (mtu: 1500 -> 1400); use --replace to recreate it\n`]);
    expect((await w.json(...create, "--mtu", "1400", "--replace")).outcome).toBe("replaced");
    expect(w.bridges()).toEqual([expect.stringMatching(/^vl-idem mtu 1400 /)]);

    const first = await w.json("attach", "idem", "--id", "vm");
    const again = await w.json("attach", "idem", "--id", "vm");
    expect(again).toMatchObject({ address: first.address, mac: first.mac, created: false });
    expect((await w.vmlan("detach", "idem", "--id", "vm")).exitCode).toBe(0);
    expect((await w.vmlan("detach", "idem", "--id", "vm", "--if-exists")).exitCode).toBe(0);
    expect((await w.vmlan("network", "rm", "idem")).exitCode).toBe(0);
    const gone = await w.vmlan("network", "rm", "idem", "--if-exists");
    expect([gone.exitCode, gone.stdout]).toEqual([0, "idem (absent)\n"]);
  });
});
