// The launchd plist `vmlan system install` writes on macOS: the broker advertised as XPC Mach services.
import { expect, test } from "bun:test";
import { launchdPlist } from "../../../src/broker/service-files.ts";

const base = { bin: "/usr/local/bin/vmlan", stateDir: "/var/lib/vmlan", socket: "/var/lib/vmlan/broker.sock", group: "staff", exitIdle: 600 };

test("MachServices lists every name the broker serves, and the broker is told to serve them", () => {
  const p = launchdPlist({ ...base, machServices: ["dev.vmlan.broker", "com.github.nirs.vmnet-broker"] });
  expect(p).toContain("  <key>MachServices</key>\n  <dict>\n    <key>dev.vmlan.broker</key>\n    <true/>\n    <key>com.github.nirs.vmnet-broker</key>\n    <true/>\n  </dict>\n");
  const args = [...p.slice(p.indexOf("ProgramArguments")).matchAll(/<string>([^<]*)<\/string>/g)].map((m) => m[1]);
  expect(args.slice(0, 11)).toEqual(["/usr/local/bin/vmlan", "broker", "--socket", "/var/lib/vmlan/broker.sock", "--group", "staff",
    "--mach-service", "dev.vmlan.broker", "--vmnet-broker-name", "com.github.nirs.vmnet-broker", "/var/lib/vmlan"]);
  expect(p.indexOf("MachServices")).toBeLessThan(p.indexOf("RunAtLoad"));
});

test("without Mach services (an older caller) the plist is what it was", () => {
  const p = launchdPlist(base);
  expect(p).not.toContain("MachServices");
  expect(p).not.toContain("--mach-service");
});
