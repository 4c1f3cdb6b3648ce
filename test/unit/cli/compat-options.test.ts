/**
 * vmnet-helper's command line as vmlan parses it: getopt_long's forms, inet_aton's address syntax,
 * each option's check and the cross-option rules in vmnet-helper's order (programs/options.c), and
 * what an address range means as a vmlan network.
 */
import { describe, expect, test } from "bun:test";
import { getopt } from "../../../src/cli/compat/getopt.ts";
import { inetAton } from "../../../src/cli/compat/inet-aton.ts";
import { applyOption, finishRequest, newRequest, printsUsage, VMNET_HELPER_OPTIONS, type HelperRequest } from "../../../src/cli/compat/helper-options.ts";
import { helperArgv, parseRun } from "../../../src/cli/compat/vmnet-run.ts";
import { programFor } from "../../../src/cli/compat/programs.ts";
import { rangeRequest } from "../../../src/core/compat/vmnet-networks.ts";

/** Parses argv as the vmnet-helper binary does; returns the request or the first error's message. */
function parse(...argv: string[]): HelperRequest | string {
  const r = newRequest();
  try {
    for (const e of getopt(argv, VMNET_HELPER_OPTIONS).events) {
      if (e.kind !== "option") return `${e.kind} ${e.word}`;
      applyOption(r, e.name, e.value);
    }
    return finishRequest(r);
  } catch (e) {
    return (e as Error).message;
  }
}

describe("getopt_long", () => {
  test("--flag=value, --flag value, unique prefixes, -f3, -f 3 and clusters", () => {
    const { events, operands } = getopt(["--fd=3", "--inter", "X", "-vs/tmp/s", "-f", "4", "junk", "--enable-iso", "--", "--fd"], VMNET_HELPER_OPTIONS);
    expect(events).toEqual([
      { kind: "option", name: "fd", value: "3", word: "--fd=3" },
      { kind: "option", name: "interface-id", value: "X", word: "--inter" },
      { kind: "option", name: "verbose", word: "-vs/tmp/s" },
      { kind: "option", name: "socket", value: "/tmp/s", word: "-vs/tmp/s" },
      { kind: "option", name: "fd", value: "4", word: "-f" },
      { kind: "option", name: "enable-isolation", word: "--enable-iso" },
    ]);
    expect(operands).toEqual(["junk", "--fd"]);
  });

  test("ambiguous prefixes, unknown options, values for flags and a missing value are errors", () => {
    const kinds = (argv: string[]) => getopt(argv, VMNET_HELPER_OPTIONS).events.map((e) => `${e.kind} ${e.word}`);
    expect(kinds(["--enable"])).toEqual(["unknown --enable"]); // tso, checksum-offload, isolation
    expect(kinds(["--bogus", "-x"])).toEqual(["unknown --bogus", "unknown -x"]);
    expect(kinds(["--enable-tso=1"])).toEqual(["unknown --enable-tso=1"]);
    expect(kinds(["--fd"])).toEqual(["missing-value --fd"]);
    expect(kinds(["--socket", "--fd"])).toEqual(["option --socket"]); // the next word is the value, as getopt takes it
  });
});

test("inet_aton: dotted quads, short forms, octal and hex parts, trailing blanks; garbage refused", () => {
  expect(inetAton("192.168.105.1")).toBe("192.168.105.1");
  expect(inetAton("10.1")).toBe("10.0.0.1");
  expect(inetAton("0x0a.010.0.1")).toBe("10.8.0.1");
  expect(inetAton("127.1 trailing")).toBe("127.0.0.1");
  for (const bad of ["", "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "08.1.1.1", "a.b.c.d", "1..2", " 1.2.3.4", "0x"]) expect(inetAton(bad)).toBeNull();
});

describe("vmnet-helper's options", () => {
  test("each bad value is named in one line, the first one wins, as vmnet-helper checks them in order", () => {
    expect(parse("--fd", "x")).toBe(`invalid --fd "x": expected a file descriptor number`);
    expect(parse("--fd", "-1")).toBe(`invalid --fd "-1": expected a file descriptor number`);
    expect(parse("--fd", "")).toBe(`invalid --fd "": expected a file descriptor number`);
    expect(parse("--socket", "/".repeat(104))).toMatch(/^invalid --socket "\/+": 104 bytes, over the 103/);
    expect(parse("--interface-id", "not-a-uuid\u001b[31m")).toBe(`invalid --interface-id "not-a-uuid\\u001b[31m": expected a UUID like 2835E074-9892-4A79-AFFB-7E41D2605678`);
    expect(parse("--operation-mode", "nat")).toBe(`invalid --operation-mode "nat": use shared, bridged or host`);
    // inet_aton takes "1.2.3" (1.2.0.3): the error is the next rule's, the missing end and mask
    expect(parse("--start-address", "1.2.3")).toBe("--start-address, --end-address and --subnet-mask must be given together, or all omitted");
    expect(parse("--start-address", "1.2.3.999")).toBe(`invalid --start-address "1.2.3.999": expected an IPv4 address`);
    expect(parse("--subnet-mask", "x", "--fd", "y")).toBe(`invalid --subnet-mask "x": expected an IPv4 address`);
    expect(parse("--stats-interval", "0")).toBe(`invalid --stats-interval "0": expected a whole number of seconds, 1 or more`);
    expect(parse("--stats-interval", "1.5")).toMatch(/^invalid --stats-interval "1.5"/);
  });

  test("cross-option rules in vmnet-helper's order, --fd/--socket last", () => {
    expect(parse("--network", "shared", "--operation-mode", "host")).toBe("conflicting arguments: --network cannot be used with --operation-mode");
    expect(parse("--network", "shared", "--subnet-mask", "255.255.255.0")).toBe("conflicting arguments: --network cannot be used with --subnet-mask");
    expect(parse("--start-address", "10.0.0.1", "--fd", "3")).toBe("--start-address, --end-address and --subnet-mask must be given together, or all omitted");
    expect(parse("--operation-mode", "bridged", "--fd", "3")).toBe("missing argument: --shared-interface is required with --operation-mode bridged");
    expect(parse("--operation-mode", "bridged", "--shared-interface", "en0", "--enable-isolation", "--fd", "3")).toBe("conflicting arguments: --enable-isolation cannot be used with bridged mode");
    expect(parse("--network", "x", "--operation-mode", "host")).toStartWith("conflicting"); // before the missing --fd
    expect(parse()).toBe("missing argument: either --fd or --socket is required");
    expect(parse("--fd", "3", "--socket", "/tmp/s")).toBe("conflicting arguments: --fd and --socket are mutually exclusive");
  });

  test("usage text follows exactly the errors vmnet-helper prints it for (fd, socket, fd/socket rules)", () => {
    const error = (...argv: string[]) => {
      try {
        const r = newRequest();
        for (const e of getopt(argv, VMNET_HELPER_OPTIONS).events) if (e.kind === "option") applyOption(r, e.name, e.value);
        finishRequest(r);
      } catch (e) {
        return printsUsage(e);
      }
      return null;
    };
    expect([error("--fd", "x"), error(), error("--fd", "1", "--socket", "s")]).toEqual([true, true, true]);
    expect([error("--interface-id", "x"), error("--fd", "3", "--start-address", "10.0.0.1")]).toEqual([false, false]);
  });

  test("a full valid line: values normalised (UUID upper case, inet_aton forms), flags set", () => {
    const r = parse("--fd=3", "-i", "2835e074-9892-4a79-affb-7e41d2605678", "--operation-mode=host", "--start-address", "10.1",
      "--end-address", "10.0.0.9", "--subnet-mask", "255.255.255.0", "--enable-isolation", "--enable-tso", "--enable-checksum-offload", "--stats-interval", "5", "-v");
    expect(r).toMatchObject({
      fd: 3, interfaceId: "2835E074-9892-4A79-AFFB-7E41D2605678", operationMode: "host", startAddress: "10.0.0.1", endAddress: "10.0.0.9",
      subnetMask: "255.255.255.0", isolation: true, tso: true, checksumOffload: true, statsInterval: 5, verbose: true,
    });
  });
});

describe("vmnet-run", () => {
  test("options before --, the command after; the helper gets fd 3 and the options in run.c's order", () => {
    const r = parseRun(["--interface-id", "2835e074-9892-4a79-affb-7e41d2605678", "--enable-isolation", "--network", "host", "--", "vfkit", "--device", "virtio-net,fd=4"]);
    if (typeof r === "number") throw new Error(`exit ${r}`);
    expect(r.command).toEqual(["vfkit", "--device", "virtio-net,fd=4"]);
    expect(helperArgv(r.request)).toEqual(["--fd=3", "--interface-id", "2835E074-9892-4A79-AFFB-7E41D2605678", "--enable-isolation", "--network", "host"]);
  });

  test("--fd and --socket are not vmnet-run's options", () => {
    expect(parseRun(["--fd", "3", "--", "true"])).toBe(1);
  });
});

test("the program is picked by the basename of argv0 only", () => {
  expect(programFor("/opt/vmnet-helper/bin/vmnet-helper")?.name).toBe("vmnet-helper");
  expect(programFor("vmnet-run")?.name).toBe("vmnet-run");
  for (const other of ["vmlan", "/usr/bin/vmlan", "bun", "vmnet-helper.sh", "/opt/vmnet-helper/bin/vmlan"]) expect(programFor(other)).toBeNull();
});

describe("an address range as a vmlan network", () => {
  test("gateway = start, pool = start + 1 .. end, the mask's subnet, a compatibility label", () => {
    expect(rangeRequest("shared", { start: "192.168.200.1", end: "192.168.200.20", mask: "255.255.255.0" })).toEqual({
      name: "vmnet-192.168.200.0-24", mode: "shared", subnet: "192.168.200.0/24", gateway: "192.168.200.1",
      poolStart: "192.168.200.2", poolEnd: "192.168.200.20", labels: { "vmlan.compat": "vmnet-helper" },
    });
    expect(rangeRequest("host", { start: "192.168.200.253", end: "192.168.200.254", mask: "255.255.255.252" })).toMatchObject({
      subnet: "192.168.200.252/30", gateway: "192.168.200.253", poolStart: "192.168.200.254", poolEnd: "192.168.200.254",
    });
  });

  test("what vmnet refuses, refused with the value named", () => {
    const bad = (start: string, end: string, mask: string) => () => rangeRequest("shared", { start, end, mask });
    expect(bad("192.168.1.1", "192.168.1.9", "255.0.255.0")).toThrow(`invalid --subnet-mask "255.0.255.0": the mask's one bits must be contiguous`);
    expect(bad("192.168.1.1", "192.168.1.2", "255.255.255.255")).toThrow("--subnet-mask 255.255.255.255 is a /32; vmlan networks are /8 to /30");
    expect(bad("8.8.8.1", "8.8.8.9", "255.255.255.0")).toThrow("--start-address 8.8.8.1 is not a private address");
    expect(bad("192.168.1.1", "192.168.2.9", "255.255.255.0")).toThrow("--end-address 192.168.2.9 is not in 192.168.1.0/24");
    expect(bad("192.168.1.9", "192.168.1.3", "255.255.255.0")).toThrow("--end-address 192.168.1.3 must come after --start-address 192.168.1.9");
    expect(bad("192.168.1.0", "192.168.1.9", "255.255.255.0")).toThrow("--start-address 192.168.1.0 is the network address of 192.168.1.0/24");
    expect(bad("192.168.1.1", "192.168.1.255", "255.255.255.0")).toThrow("--end-address 192.168.1.255 is the broadcast address of 192.168.1.0/24");
  });
});
