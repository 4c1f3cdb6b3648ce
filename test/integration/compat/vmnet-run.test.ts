/**
 * vmlan started as `vmnet-run` (a link from `vmlan compat install`), in a namespace this file creates:
 * the command gets the VM's end as fd 4 (fd 3 closed), the helper's start line is on stdout, the
 * command's exit status is vmnet-run's, SIGTERM stops both; bad options exit 1 before anything starts.
 * The "VM" is test/support/dgram-guest.ts on fd 4 with a static address outside the DHCP range, as
 * vmnet's address options leave those free for static use.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BUN } from "../../support/netns.ts";
import { CompatHost, startLineOf, UUID } from "./support.ts";

const GUEST = join(import.meta.dir, "..", "..", "support", "dgram-guest.ts");
const RANGE = ["--start-address", "10.77.0.1", "--end-address", "10.77.0.50", "--subnet-mask", "255.255.255.0", "--operation-mode", "host"];

let h: CompatHost;
beforeAll(async () => { h = await new CompatHost().install(); });
afterAll(() => h?.stop());

describe("started as vmnet-run", () => {
  test("bad options and a missing command: one ERROR [runner] line, exit 1, nothing started", async () => {
    for (const [argv, message] of [
      [["--interface-id", "nope", "--", "true"], `invalid --interface-id "nope"`],
      [["--fd", "3", "--", "true"], `invalid option: "--fd"`],
      [["--start-address", "10.77.0.1", "--", "true"], "must be given together"],
      [["--network", "shared", "--operation-mode", "host", "--", "true"], "--network cannot be used with --operation-mode"],
      [["--stats-interval", "x", "--", "true"], `invalid --stats-interval "x"`],
      [["--enable-isolation"], "no command specified"],
    ] as const) {
      const r = await h.run("vmnet-run", [...argv]);
      const errors = r.stderr.split("\n").filter((l) => l.startsWith("ERROR"));
      expect({ argv, exit: r.exitCode, errors, stdout: r.stdout }).toEqual({ argv, exit: 1, errors: [expect.stringContaining(message)], stdout: "" });
      expect(errors[0]).toStartWith("ERROR [runner] ");
    }
    expect(JSON.parse((await h.vmlan("network", "ls", "--format", "json")).stdout)).toEqual([]);
  });

  test("the command gets fd 4 (fd 3 closed), the start line is on stdout, its exit status is vmnet-run's", async () => {
    const r = await h.run("vmnet-run", ["--interface-id", UUID, ...RANGE, "--", "sh", "-c", "readlink /proc/self/fd/4; [ -e /proc/self/fd/3 ] || echo no-fd-3; exit 7"]);
    expect(r.exitCode).toBe(7);
    const [line, fd4, fd3] = r.stdout.split("\n");
    expect(JSON.parse(line!)).toMatchObject({ vmnet_interface_id: UUID.toUpperCase(), vmnet_start_address: "10.77.0.1", vmnet_end_address: "10.77.0.50", vmlan_network: "vmnet-10.77.0.0-24" });
    expect(fd4).toMatch(/^socket:\[\d+\]$/);
    expect(fd3).toBe("no-fd-3");
    expect(JSON.parse((await h.vmlan("attachments", "--format", "json")).stdout)).toEqual([]); // the helper stopped and released
  });

  test("a VM on fd 4 is on the network; SIGTERM to vmnet-run stops the VM and the helper (exit 143)", async () => {
    const p = h.start("vmnet-run", [...RANGE, "--", BUN, GUEST, "--fd", "4", "--ip", "10.77.0.200", "--mac", "02:00:00:77:00:c8"]);
    const line = await startLineOf(p);
    await p.waitFor(/^ready/);
    const r = h.ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.77.0.200"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(h.vmlanLinks()).toContain(String(line.vmlan_tap));
    p.kill("SIGTERM");
    expect(await p.exited()).toBe(143);
    expect(h.vmlanLinks()).not.toContain(String(line.vmlan_tap));
  });

  test("the command exiting stops the helper; a command that cannot start is exit 1", async () => {
    const r = await h.run("vmnet-run", [...RANGE, "--", "/nonexistent/vfkit"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`ERROR [runner] cannot run "/nonexistent/vfkit"`);
    expect(h.vmlanLinks().filter((l) => l.startsWith("vlt"))).toEqual([]);
  });
});
