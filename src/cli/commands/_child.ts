/**
 * `vmlan _child (--pdeathsig PID --fds N | --watch FD) -- PROGRAM ARGV0 [ARGS...]` (internal): the VM
 * command as `vmlan run` and a foreground `vm run` start it, so that it cannot outlive them
 * (src/process/supervised.ts). Not for people: no flags beyond these, no output unless it fails.
 */
import { defineCommand } from "citty";
import { UsageError } from "../../core/errors.ts";

export default defineCommand({
  meta: { name: "_child", description: "internal: runs a VM command that dies with its supervisor (started by `vmlan run` and `vm run`)", hidden: true },
  args: {
    pdeathsig: { type: "string", description: "Linux: exec the command with PR_SET_PDEATHSIG, parent PID" },
    fds: { type: "string", description: "With --pdeathsig: how many fds from 3 on the command inherits" },
    watch: { type: "string", description: "Watch this fd; when it reads EOF, stop the command (it inherits the fds from 3 up to this one)" },
  },
  async run({ args, rawArgs }) {
    const dd = rawArgs.indexOf("--");
    const [program, ...argv] = dd < 0 ? [] : rawArgs.slice(dd + 1);
    if (!program || argv.length === 0) throw new UsageError("usage: vmlan _child (--pdeathsig PID --fds N | --watch FD) -- PROGRAM ARGV0 [ARGS...]");
    if (args.pdeathsig !== undefined) {
      const { execWithParentDeath } = await import("../../process/exec-child.ts");
      execWithParentDeath(Number(args.pdeathsig), Number(args.fds ?? 0), program, argv);
    }
    if (args.watch === undefined || !/^\d+$/.test(args.watch)) throw new UsageError("give --pdeathsig PID or --watch FD");
    const { runWatched } = await import("../../process/watch-child.ts");
    process.exit(await runWatched(Number(args.watch), program, argv));
  },
});
