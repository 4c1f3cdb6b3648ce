/**
 * The helper's fast path (src/cli/helper-fast.ts) takes only plain command lines and leaves every
 * other one, and every usage error, to the full CLI, which reports it as before.
 */
import { describe, expect, test } from "bun:test";
import { fastHelperRequest, plainHelperArgs } from "../../../src/cli/helper-fast.ts";
import { HELPER_ARGS } from "../../../src/cli/commands/_helper-args.ts";
import helperCommand from "../../../src/cli/commands/helper.ts";

describe("plainHelperArgs", () => {
  test("long flags with values, in both spellings, and booleans", () => {
    expect(plainHelperArgs(["--fd", "3", "--network=hb", "--id", "vm1", "--keep", "--enable-tso"])).toEqual({ fd: "3", network: "hb", id: "vm1", keep: true, "enable-tso": true });
    expect(plainHelperArgs([])).toEqual({});
  });

  test.each([
    [["-f", "3"]], // an alias
    [["--fd", "3", "--fd", "4"]], // repeated
    [["--fd"]], // no value
    [["--fd="]], // empty value
    [["--stats-interval", "-1"]], // a value that looks like a flag
    [["--bogus"]], // unknown
    [["--debug", "--fd", "3"]], // not a helper flag
    [["--keep=true"]], // a boolean with a value
    [["--version"]], [["--list-shared-interfaces"]], // print and exit
    [["vm1"]], [["--"]], // positionals
  ])("leaves %j to the full CLI", (argv) => {
    expect(plainHelperArgs(argv)).toBeNull();
  });
});

describe("fastHelperRequest", () => {
  test("a valid command line is the request the command builds", () => {
    expect(fastHelperRequest(["--socket", "/tmp/x.sock", "--network", "hb", "--id", "vm1", "--enable-isolation"])).toMatchObject({
      socket: "/tmp/x.sock", network: "hb", interfaceId: "vm1", isolation: true, keep: false, broker: false,
    });
  });

  test("a usage error is left to the full CLI", () => {
    expect(fastHelperRequest(["--fd", "x"])).toBeNull();
    expect(fastHelperRequest(["--id", "a", "--interface-id", "2835E074-9892-4A79-AFFB-7E41D2605678", "--fd", "3"])).toBeNull();
    expect(fastHelperRequest(["--network", "hb", "--operation-mode", "host", "--fd", "3"])).toBeNull();
  });

  test("the command declares the same flags the fast path knows", () => {
    expect(helperCommand.args).toBe(HELPER_ARGS);
  });
});
