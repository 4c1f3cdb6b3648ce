/**
 * vmlan started as `vmnet-helper` (a link from `vmlan compat install`) with only vmnet-helper's
 * options, in a namespace this file creates: exits, error lines and "nothing allocated" for bad
 * values; every option alone and combined starting a helper whose start line has every key
 * vmnet-helper prints; the networks its options mean; the same checks through `vmlan helper`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { vmlanBin } from "../../support/binary.ts";
import { LineProc } from "../helper/proc.ts";
import { CompatHost, startLineOf, UUID, VMNET_KEYS } from "./support.ts";

let h: CompatHost;
beforeAll(async () => { h = await new CompatHost().install(); });
afterAll(() => h?.stop());

const RANGE = ["--start-address", "192.168.200.1", "--end-address", "192.168.200.20", "--subnet-mask", "255.255.255.0"];
const networks = async (): Promise<Array<Record<string, unknown>>> => JSON.parse((await h.vmlan("network", "ls", "--format", "json")).stdout);

/** [argv, what the one ERROR line says, usage text follows] — each is refused before anything is allocated. */
const BAD: Array<[string[], string, boolean]> = [
  [[], "missing argument: either --fd or --socket is required", true],
  [["--fd", "x"], `invalid --fd "x"`, true],
  [["--fd", "3", "--socket", "/tmp/x.sock"], "--fd and --socket are mutually exclusive", true],
  [["--socket", `/tmp/${"s".repeat(100)}`], "over the 103 a unix socket path can hold", true],
  [["--fd", "3", "--interface-id", "not-a-uuid"], `invalid --interface-id "not-a-uuid"`, false],
  [["--fd", "3", "--operation-mode", "nat"], `invalid --operation-mode "nat"`, false],
  [["--fd", "3", "--start-address", "300.1.1.1", "--end-address", "10.0.0.9", "--subnet-mask", "255.255.255.0"], `invalid --start-address "300.1.1.1"`, false],
  [["--fd", "3", "--start-address", "10.0.0.1"], "must be given together, or all omitted", false],
  [["--fd", "3", "--network", "shared", "--operation-mode", "host"], "--network cannot be used with --operation-mode", false],
  [["--fd", "3", "--stats-interval", "0"], `invalid --stats-interval "0"`, false],
  [["--fd", "3", "--operation-mode", "bridged"], "--shared-interface is required", false],
  [["--bogus-option"], `invalid option: "--bogus-option"`, false],
  [["--fd"], `option "--fd" requires a value`, false],
  // Checked once the options are parsed, still before anything is created:
  [["--fd", "3", "--start-address", "8.8.8.1", "--end-address", "8.8.8.9", "--subnet-mask", "255.255.255.0"], "--start-address 8.8.8.1 is not a private address", false],
  [["--fd", "3", "--start-address", "10.9.0.1", "--end-address", "10.9.0.9", "--subnet-mask", "255.0.255.0"], `invalid --subnet-mask "255.0.255.0"`, false],
  [["--fd", "3", "--network", "no-such-net"], `no network named "no-such-net"`, false],
  [["--fd", "3", "--operation-mode", "bridged", "--shared-interface", "eth9"], `invalid --shared-interface "eth9": not an interface a bridged network can use`, false],
];

describe("started as vmnet-helper", () => {
  test("bad values: one ERROR line naming the value, exit 1 as vmnet-helper, usage where it prints it; nothing allocated", async () => {
    for (const [argv, message, usage] of BAD) {
      const r = await h.run("vmnet-helper", argv);
      const errors = r.stderr.split("\n").filter((l) => l.startsWith("ERROR"));
      expect({ argv, exit: r.exitCode, errors: errors.length, stdout: r.stdout }).toEqual({ argv, exit: 1, errors: 1, stdout: "" });
      expect(errors[0]).toContain(message);
      expect(r.stderr.includes("vmnet-helper (--fd FD|--socket SOCKET)")).toBe(usage);
    }
    expect(await networks()).toEqual([]);
    expect(h.vmlanLinks()).toEqual([]);
    expect((await h.vmlan("system", "status")).stdout).not.toContain("running");
  }, 120_000);

  test("the same bad values through `vmlan helper`: the same line as `error: ...`, vmlan's usage exit 2", async () => {
    for (const [argv, message] of BAD.filter(([a]) => !a.includes("--bogus-option") && a.length > 1 && !a.includes("no-such-net"))) {
      const r = await h.vmlan("helper", ...argv);
      expect({ argv, exit: r.exitCode }).toEqual({ argv, exit: 2 });
      expect(r.stderr).toMatch(/^error: /);
      expect(r.stderr).toContain(message);
    }
    expect(await networks()).toEqual([]);
  }, 120_000);

  test("--version and --help exit 0 as vmnet-helper's do (version as YAML on stdout, usage on stderr), before any other option is looked at", async () => {
    const v = await h.run("vmnet-helper", ["--version", "--fd", "nonsense"]);
    expect(v.exitCode).toBe(0);
    expect(v.stdout).toMatch(/^version: v\d+\.\d+\.\d+\ncommit: \S+\nvmlan: \d+\.\d+\.\d+/);
    for (const help of [["--help"], ["-h"], ["-vh"], ["--he"]]) {
      const r = await h.run("vmnet-helper", help);
      expect({ help, exit: r.exitCode, stdout: r.stdout }).toEqual({ help, exit: 0, stdout: "" });
      expect(r.stderr).toContain("[--operation-mode shared|bridged|host]");
    }
  });

  /** [name, extra argv, what the start line and the network must show]. Each runs with --socket and is stopped with SIGTERM. */
  const GOOD: Array<[string, string[], (l: Record<string, unknown>) => void]> = [
    ["no options: the built-in default network, shared", [], (l) => expect(l).toMatchObject({ vmlan_network: "default", vmnet_start_address: "192.168.64.1", vmnet_end_address: "192.168.64.254" })],
    ["--operation-mode shared", ["--operation-mode", "shared"], (l) => expect(l.vmlan_network).toBe("default")],
    ["--operation-mode host: the built-in host-only network on vmnet's host subnet", ["--operation-mode=host"], (l) => expect(l).toMatchObject({ vmlan_network: "host", vmnet_start_address: "192.168.128.1" })],
    ["--network shared / host / default", ["--network", "host"], (l) => expect(l.vmlan_network).toBe("host")],
    ["--interface-id, echoed upper case as vmnet does", ["-i", UUID], (l) => expect(l.vmnet_interface_id).toBe(UUID.toUpperCase())],
    ["the address options: that gateway, that range", RANGE, (l) => {
      expect(l).toMatchObject({ vmlan_network: "vmnet-192.168.200.0-24", vmnet_start_address: "192.168.200.1", vmnet_end_address: "192.168.200.20", vmnet_subnet_mask: "255.255.255.0", net_ipv4_subnet: "192.168.200.1" });
      expect(l.vmlan_address).toMatch(/^192\.168\.200\.([2-9]|1\d|20)$/);
    }],
    ["--enable-isolation", ["--enable-isolation"], (l) => {
      expect(l.vmlan_isolation).toBe(true);
      const [port] = JSON.parse(h.ns.sh(["bridge", "-d", "-j", "link", "show", "dev", String(l.vmlan_tap)])) as { isolated: boolean }[];
      expect(port!.isolated).toBe(true);
    }],
    ["--enable-tso --enable-checksum-offload: a virtio-net header TAP, 64 KiB frames", ["--enable-tso", "--enable-checksum-offload"], (l) => expect(l).toMatchObject({ vmlan_tso: true, vmlan_checksum_offload: true, vmnet_max_packet_size: 65550, vmnet_read_max_packets: 16 })],
    ["--stats-interval, -v", ["--stats-interval", "1", "-v"], () => {}],
    ["everything at once", ["--interface-id", UUID, "--operation-mode", "host", "--start-address", "10.74.0.1", "--end-address", "10.74.0.50",
      "--subnet-mask", "255.255.255.0", "--enable-isolation", "--enable-tso", "--enable-checksum-offload", "--stats-interval", "1", "--verbose"], (l) => {
      expect(l).toMatchObject({ vmlan_network: "vmnet-10.74.0.0-24", vmnet_start_address: "10.74.0.1", vmnet_end_address: "10.74.0.50", vmlan_isolation: true });
    }],
  ];

  for (const [i, [name, argv, check]] of GOOD.entries()) {
    test(`${name}: starts, prints every vmnet-helper key, SIGTERM exits 0 and releases the lease`, async () => {
      const p = h.start("vmnet-helper", ["--socket", h.sock(`good-${i}`), ...argv]);
      const line = await startLineOf(p);
      for (const key of VMNET_KEYS) expect({ key, present: key in line }).toEqual({ key, present: true });
      check(line);
      await p.waitFor(/^INFO {2}\[main\] waiting for client on /, { stream: "err" });
      if (argv.includes("-v")) expect(p.err.some((l) => l.startsWith("DEBUG [main] attached "))).toBe(true);
      p.kill("SIGTERM");
      expect(await p.exited()).toBe(0);
      expect(p.err.filter((l) => l.startsWith("ERROR"))).toEqual([]);
      expect(h.vmlanLinks().filter((l) => l.startsWith("vlt"))).toEqual([]);
    });
  }

  test("the same --interface-id gets the same MAC and address every run; none gets a new id each time", async () => {
    const once = async (argv: string[]) => {
      const p = h.start("vmnet-helper", ["--socket", h.sock("id"), ...argv]);
      const l = await startLineOf(p);
      p.kill("SIGTERM");
      await p.exited();
      return [l.vmnet_interface_id, l.vmnet_mac_address, l.vmlan_address];
    };
    const a = await once(["--interface-id", UUID]);
    expect(await once(["--interface-id", UUID.toUpperCase()])).toEqual(a);
    const [x, y] = [await once([]), await once([])];
    expect(x[0]).not.toBe(y[0]);
    expect(x[1]).not.toBe(y[1]);
  });

  test("a range is one network, made once and labelled; a different mode on its subnet is refused as vmnet refuses it", async () => {
    const made = (await networks()).filter((n) => String(n.name).startsWith("vmnet-"));
    expect(made.map((n) => [n.name, n.mode, n.gateway, n.poolStart, n.poolEnd, (n.labels as Record<string, string>)["vmlan.compat"]])).toEqual([
      ["vmnet-10.74.0.0-24", "host", "10.74.0.1", "10.74.0.2", "10.74.0.50", "vmnet-helper"],
      ["vmnet-192.168.200.0-24", "shared", "192.168.200.1", "192.168.200.2", "192.168.200.20", "vmnet-helper"],
    ]);
    // A socket of its own: with the services daemon running (the shared network above started it), the
    // VM side is checked while the daemon chooses the network, so a bad --fd would be the error here.
    const r = await h.run("vmnet-helper", ["--socket", h.sock("mode"), "--operation-mode", "host", ...RANGE]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`ERROR [main] network "vmnet-192.168.200.0-24" exists with a different configuration (mode: shared -> host)`);
    // The built-in networks' range is the network itself, whatever its name.
    const p = h.start("vmnet-helper", ["--socket", h.sock("def"), "--start-address", "192.168.64.1", "--end-address", "192.168.64.254", "--subnet-mask", "255.255.255.0"]);
    expect((await startLineOf(p)).vmlan_network).toBe("default");
    p.kill("SIGTERM");
    expect(await p.exited()).toBe(0);
  });

  test("vmlan helper takes the same options next to its own", async () => {
    const v = await h.vmlan("helper", "--version");
    expect(v.stdout).toStartWith("version: v");
    const p = h.start("vmnet-helper", ["--socket", h.sock("vh"), "--interface-id", UUID]);
    const byName = await startLineOf(p);
    p.kill("SIGTERM");
    await p.exited();
    const q = new LineProc(["ip", "netns", "exec", h.ns.name, vmlanBin(), "helper", "--socket", h.sock("vh2"), "--interface-id", UUID.toUpperCase(), "--operation-mode", "shared"], h.env);
    h.procs.push(q);
    const line = await startLineOf(q);
    expect([line.vmlan_network, line.vmnet_mac_address, line.vmlan_address]).toEqual([byName.vmlan_network, byName.vmnet_mac_address, byName.vmlan_address]);
    q.kill("SIGTERM");
    expect(await q.exited()).toBe(0);
  });
});
