import { expect, test } from "bun:test";
import { commands } from "../../../src/cli/commands/index.ts";
import { COMPLETION_TREE } from "../../../src/cli/completion.ts";
import { runVmlan } from "../../support/binary.ts";

type Def = { subCommands?: Record<string, unknown> };

test("the completion tree lists exactly the commands and sub-commands of the command map", async () => {
  // A leading underscore is internal (`vmlan _child`, started by run and vm run): never completed.
  const visible = Object.entries(commands).filter(([name]) => !name.startsWith("_"));
  expect(Object.keys(COMPLETION_TREE).sort()).toEqual(visible.map(([name]) => name).sort());
  for (const [name, load] of visible) {
    const def = (await load()) as Def;
    const subs: string[] = [];
    for (const [sub, loadSub] of Object.entries(def.subCommands ?? {})) {
      const cmd = (typeof loadSub === "function" ? await loadSub() : loadSub) as { meta?: { hidden?: boolean } };
      if (!cmd.meta?.hidden) subs.push(sub); // hidden: internal (vm _vz-host)
    }
    const listed = COMPLETION_TREE[name]!.filter((s) => !(name === "network" && s === "ls")); // ls is list's alias
    if (name === "completion") continue; // its words are shells, not sub-commands
    expect({ name, subs: listed.sort() }).toEqual({ name, subs: subs.sort() });
  }
});

test("completion scripts for bash, zsh and fish; unknown shell is exit 2", async () => {
  const env = { VMLAN_STATE_DIR: "/nonexistent-vmlan-state" };
  const bash = await runVmlan(["completion", "bash"], { env });
  expect(bash.exitCode).toBe(0);
  expect(bash.stdout).toContain("complete -F _vmlan vmlan");
  expect(Bun.spawnSync(["bash", "-n"], { stdin: Buffer.from(bash.stdout) }).exitCode).toBe(0);
  expect((await runVmlan(["completion", "fish"], { env })).stdout).toContain("complete -c vmlan");
  expect((await runVmlan(["completion", "zsh"], { env })).stdout).toContain("#compdef vmlan");
  const bad = await runVmlan(["completion", "tcsh"], { env });
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr).toBe(`error: unknown shell "tcsh": use bash, zsh or fish\n`);
});
