/** socket_vmnet's command line (src/cli/compat/socket-vmnet-options.ts): cli.c's defaults, warnings and checks, in its order. */
import { describe, expect, test } from "bun:test";
import { getopt } from "../../../src/cli/compat/getopt.ts";
import { applySwitchOption, finishSwitchRequest, newSwitchRequest, SOCKET_VMNET_OPTIONS, type SwitchRequest } from "../../../src/cli/compat/socket-vmnet-options.ts";

function parse(argv: string[]): { r: SwitchRequest; warnings: string[]; operands: string[] } {
  const r = newSwitchRequest();
  const { events, operands } = getopt(argv, SOCKET_VMNET_OPTIONS);
  for (const e of events) {
    if (e.kind !== "option") throw new Error(`${e.kind}: ${e.word}`);
    applySwitchOption(r, e.name, e.value);
  }
  return { r, warnings: finishSwitchRequest(r), operands };
}
const fails = (argv: string[]) => { try { parse(argv); return null; } catch (e) { return (e as Error).message; } };

describe("socket_vmnet's options", () => {
  test("--vmnet-gateway fills in x.x.x.254 as the DHCP end (whatever the mask) and 255.255.255.0, as cli.c does", () => {
    expect(parse(["--vmnet-gateway=192.168.105.1", "/var/run/socket_vmnet"])).toMatchObject({
      r: { mode: "shared", gateway: "192.168.105.1", dhcpEnd: "192.168.105.254", mask: "255.255.255.0" }, warnings: [], operands: ["/var/run/socket_vmnet"],
    });
    expect(parse(["--vmnet-gateway", "10.1.2.1", "--vmnet-mask", "255.255.0.0", "s"]).r).toMatchObject({ dhcpEnd: "10.1.2.254", mask: "255.255.0.0" });
    expect(parse(["--vmnet-gateway=10.1.2.1", "--vmnet-dhcp-end=10.1.2.100", "s"]).r.dhcpEnd).toBe("10.1.2.100");
  });

  test("long options by unambiguous prefix, -p FILE and -pFILE, operands anywhere (getopt_long permutes)", () => {
    expect(parse(["s", "--vmnet-g=10.0.0.1", "-p", "/run/a.pid"]).r).toMatchObject({ gateway: "10.0.0.1", pidfile: "/run/a.pid" });
    expect(parse(["-p/run/b.pid", "s"]).r.pidfile).toBe("/run/b.pid");
  });

  test("shared mode without a gateway warns; host and bridged do not", () => {
    expect(parse(["s"]).warnings).toEqual(["--vmnet-gateway=IP should be explicitly specified to avoid conflicting with other applications"]);
    expect(parse(["--vmnet-mode=host", "s"]).warnings).toEqual([]);
    expect(parse(["--vmnet-mode=bridged", "--vmnet-interface=eth0", "s"]).warnings).toEqual([]);
  });

  test("--vmnet-disable-dhcp warns about the options it makes meaningless (cli.c's three warnings)", () => {
    const { warnings } = parse(["--vmnet-disable-dhcp", "--vmnet-gateway=10.0.0.1", "--vmnet-dhcp-end=10.0.0.9", "--vmnet-interface-id=2835e074-9892-4a79-affb-7e41d2605678", "s"]);
    expect(warnings).toEqual([
      "--vmnet-dhcp-end is ignored with --vmnet-disable-dhcp: no DHCP server is started",
      "--vmnet-interface-id is ignored with --vmnet-disable-dhcp: vmnet_interface_start_with_network assigns its own interface id",
    ]);
  });

  test("bad values and combinations get socket_vmnet's messages", () => {
    expect(fails(["--vmnet-mode=nat", "s"])).toBe(`Unknown vmnet mode "nat"`);
    expect(fails(["--vmnet-interface-id=nope", "s"])).toBe(`Failed to parse UUID "nope"`);
    expect(fails(["--vmnet-network-identifier=nope", "s"])).toBe(`Failed to parse network identifier UUID "nope"`);
    expect(fails(["--vmnet-mode=bridged", "s"])).toBe(`vmnet mode "bridged" require --vmnet-interface to be specified`);
    expect(fails(["--vmnet-dhcp-end=10.0.0.9", "s"])).toBe("--vmnet-dhcp-end=IP requires --vmnet-gateway=IP");
    expect(fails(["--vmnet-mask=255.0.0.0", "s"])).toBe("--vmnet-mask=MASK requires --vmnet-gateway=IP");
    expect(fails(["--vmnet-mode=bridged", "--vmnet-interface=eth0", "--vmnet-gateway=10.0.0.1", "s"])).toBe(`vmnet mode "bridged" conflicts with --vmnet-gateway`);
    expect(fails(["--vmnet-gateway=10.0.0.300", "s"])).toBe(`invalid address "10.0.0.300" was specified for --vmnet-gateway`);
    expect(fails(["--vmnet-gateway=10.0.0.\x1b[31m1", "s"])).toBe(`invalid address "10.0.0.\\u001b[31m1" was specified for --vmnet-gateway`);
    expect(parse(["--vmnet-gateway=10.0.0.1\nanything", "s"]).r.gateway).toBe("10.0.0.1"); // inet_aton stops at whitespace
    expect(fails(["--vmnet-nat66-prefix=2001:db8::", "s"])).toBe(`invalid IPv6 prefix "2001:db8::" for --vmnet-nat66-prefix: expected a ULA like fd00:1234:5678:9abc::`);
  });

  test("inet_aton's forms are accepted and normalised (10.1 is 10.0.0.1)", () => {
    expect(parse(["--vmnet-gateway=10.1", "s"]).r).toMatchObject({ gateway: "10.0.0.1", dhcpEnd: "10.0.0.254" });
  });
});
