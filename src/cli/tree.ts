/**
 * The command tree as data: resolving argv to a command (the runner, `vmlan help`) and walking every
 * command (help and man page checks, man pages). Commands load lazily; walking resolves them all.
 */
import type { ArgsDef, CommandDef, CommandMeta } from "citty";

export type Cmd = CommandDef<ArgsDef>;

export const resolve = async <T>(v: T | Promise<T> | (() => T | Promise<T>)): Promise<T> =>
  (typeof v === "function" ? (v as () => T | Promise<T>)() : v);

export const metaOf = async (cmd: Cmd): Promise<CommandMeta> => resolve(cmd.meta ?? {});

/** Internal commands (`vm _vz-host`): runnable, but in no list, completion or man page. */
export const isHidden = (name: string, meta: CommandMeta): boolean => name.startsWith("_") || meta.hidden === true;

/**
 * Walks the sub-command chain named by argv; returns the leaf, its parent and the leaf's own args.
 * A group with a default sub-command (`vmlan broker --x` = `vmlan broker run --x`) resolves to it,
 * unless `o.defaults` is false (help: `vmlan broker --help` is the group's help).
 */
export async function resolveChain(root: Cmd, argv: string[], o: { defaults?: boolean } = {}): Promise<{ cmd: Cmd; parent?: Cmd; path: string[]; rest: string[] }> {
  let cmd: Cmd = root;
  let parent: Cmd | undefined;
  const path: string[] = [];
  let rest = argv;
  for (;;) {
    const subs = await resolve(cmd.subCommands ?? {});
    const i = rest.findIndex((a) => !a.startsWith("-"));
    const name = i < 0 || rest.slice(0, i).includes("--") ? "" : rest[i]!;
    let next = name ? subs[name] : undefined;
    let key = name;
    if (!next && name) {
      for (const [k, s] of Object.entries(subs)) {
        const def = await resolve(s) as Cmd;
        if ([(await metaOf(def)).alias].flat().includes(name)) [next, key] = [def, k];
      }
    }
    if (!next) {
      if (!cmd.default || o.defaults === false) break;
      next = subs[await resolve(cmd.default)]; // `vmlan broker --flag` runs broker's default sub-command
      if (!next) break;
      parent = cmd;
      cmd = (await resolve(next)) as Cmd;
      path.push(await resolve(parent.default!));
      break;
    }
    parent = cmd;
    cmd = (await resolve(next)) as Cmd;
    path.push(key);
    rest = rest.slice(i + 1);
  }
  return { cmd, parent, path, rest };
}

export interface Visited { path: string[]; cmd: Cmd; meta: CommandMeta }

/** Every visible command, depth first in the map's order, the root first (path []). */
export async function walkCommands(root: Cmd): Promise<Visited[]> {
  const out: Visited[] = [];
  const visit = async (cmd: Cmd, path: string[]) => {
    const meta = await metaOf(cmd);
    out.push({ path, cmd, meta });
    for (const [name, sub] of Object.entries(await resolve(cmd.subCommands ?? {}))) {
      const def = (await resolve(sub)) as Cmd;
      if (!isHidden(name, await metaOf(def))) await visit(def, [...path, name]);
    }
  };
  await visit(root, []);
  return out;
}
