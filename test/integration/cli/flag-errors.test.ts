// Bad flag values through the compiled binary: one `error:` line naming the flag and the (escaped)
// value, exit 2, for every command's checked and enum flags. Runs in a namespace of its own, so a
// value that slipped through could not touch the host.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ArgsDef, CommandDef } from "citty";
import { runVmlan } from "../../support/binary.ts";
import { createNetns, type Netns } from "../../support/netns.ts";
import { commands } from "../../../src/cli/commands/index.ts";
import type { CheckedDef } from "../../../src/cli/flags.ts";

let ns: Netns;
const stateDir = mkdtempSync(join(tmpdir(), "vmlan-flags-"));
const vmlan = (...args: string[]) => runVmlan(args, { env: { VMLAN_STATE_DIR: stateDir }, netns: ns.name });

beforeAll(() => {
  ns = createNetns();
});
afterAll(() => {
  ns.delete();
  rmSync(stateDir, { recursive: true, force: true });
});

/** One line on stderr, exit 2, nothing on stdout; returns the line. */
async function oneLine(args: string[]): Promise<string> {
  const r = await vmlan(...args);
  expect({ args, exitCode: r.exitCode, stdout: r.stdout }).toEqual({ args, exitCode: 2, stdout: "" });
  const lines = r.stderr.split("\n").filter(Boolean);
  expect({ args, lines: lines.length }).toEqual({ args, lines: 1 });
  // eslint-disable-next-line no-control-regex
  expect(lines[0]).not.toMatch(/[\x00-\x1f\x7f]/);
  return lines[0]!;
}

describe("error lines name the flag and the value", () => {
  test("--mtu 0 and --mtu -5 are bad MTUs (a negative number is a value, not an option)", async () => {
    expect(await oneLine(["network", "create", "x", "--mtu", "0"])).toBe(`error: invalid --mtu "0": expected 576..65535`);
    expect(await oneLine(["network", "create", "x", "--mtu", "-5"])).toBe(`error: invalid --mtu "-5": expected 576..65535`);
    expect(await oneLine(["network", "create", "x", "--mtu=-5"])).toBe(`error: invalid --mtu "-5": expected 576..65535`);
    expect(await oneLine(["attach", "nope", "--id", "-5"])).not.toContain("unknown option");
  });

  test("--cpus abc, --memory lots", async () => {
    expect(await oneLine(["vm", "run", "--network", "default", "--cpus", "abc"])).toBe(`error: invalid --cpus "abc": expected 1..64`);
    expect(await oneLine(["vm", "run", "--network", "default", "--memory", "lots"])).toStartWith(`error: invalid --memory "lots": expected`);
  });

  test("newlines and escape sequences in values are escaped, in flags and positionals alike", async () => {
    expect(await oneLine(["network", "create", "x", "--mode", "a\nb\x1b[31m"])).toBe(`error: invalid --mode "a\\nb\\x1b[31m": expected one of shared, host, bridged`);
    expect(await oneLine(["network", "create", "x\x1b[2J\ry"])).toStartWith(`error: invalid network name "x\\x1b[2J\\ry"`);
    expect(await oneLine(["network", "create", "x", "--subnet", "10.0.0.0/24\n\u202e"])).toContain(`"10.0.0.0/24\\n\\u202e"`);
    expect(await oneLine(["network", "create", "x", "--bogus\nflag"])).toContain(`unknown option "--bogus\\nflag"`);
  });

  test("a flag without its value says so", async () => {
    expect(await oneLine(["network", "create", "x", "--mtu"])).toStartWith(`error: missing value for --mtu`);
  });

  test("JSON errors carry the same message, control characters escaped by JSON", async () => {
    const r = await vmlan("network", "list", "--format", "json", "--bogus\x1b");
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: "EUSAGE", message: `unknown option "--bogus\x1b" for "vmlan network list"; see vmlan network list --help` });
  });
});

type Cmd = CommandDef<ArgsDef>;
const resolve = async <T,>(v: T | Promise<T> | (() => T | Promise<T>)): Promise<T> => (typeof v === "function" ? (v as () => T | Promise<T>)() : v);

/** Every leaf command's path and its flag definitions. */
async function leaves(subs: Record<string, unknown>, path: string[] = []): Promise<{ path: string[]; args: ArgsDef }[]> {
  const out: { path: string[]; args: ArgsDef }[] = [];
  for (const [name, sub] of Object.entries(subs)) {
    const cmd = (await resolve(sub)) as Cmd;
    if (cmd.subCommands) out.push(...(await leaves((await resolve(cmd.subCommands)) as Record<string, unknown>, [...path, name])));
    else out.push({ path: [...path, name], args: ((await resolve(cmd.args ?? {})) as ArgsDef) });
  }
  return out;
}

const BAD = ["abc", "-5", "0x10", "1e3", "", "99999999999999999999", "4.5.6", "a\nb\x1b[0m"];

describe("every command's numeric and enum flags", () => {
  test("bad values: exit 2, one line naming the flag and the escaped value", async () => {
    const all = await leaves(commands);
    let tried = 0;
    for (const { path, args } of all) {
      for (const [name, raw] of Object.entries(args)) {
        const def = raw as CheckedDef;
        // A flag with a numeric default takes a number and so must declare how it is checked.
        if (def.type === "string" && /^\d+$/.test(String(def.default ?? ""))) expect({ flag: `${path.join(" ")} --${name}`, checked: !!def.valueCheck }).toEqual({ flag: `${path.join(" ")} --${name}`, checked: true });
        const bad = def.type === "enum" ? [...BAD, "JSON"] : def.valueCheck ? BAD.filter((b) => def.valueCheck!(b) !== null) : [];
        for (const value of bad) {
          const line = await oneLine([...path, `--${name}`, value]);
          expect(line).toStartWith(`error: invalid --${name} "${value.replace(/\n/g, "\\n").replace(/\x1b/g, "\\x1b")}": expected `);
          tried++;
        }
      }
    }
    expect(tried).toBeGreaterThan(60);
  }, 120_000);
});
