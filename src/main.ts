/**
 * vmlan entry point. Started by a peer's name (a link named vmnet-helper, ...) it is that program
 * (cli/compat/programs.ts). `version` and `completion` are answered here without loading citty,
 * valibot or any native library, so scripts that call them stay fast; a plain `vmlan helper`
 * command line starts the helper without citty; everything else goes through the citty runner,
 * loaded on demand.
 */
import { programFor } from "./cli/compat/programs.ts";

const argv = process.argv.slice(2);
const program = programFor(process.argv0);
const first = argv[0];
const help = argv.includes("--help") || argv.includes("-h");

// `vmlan helper` with a plain command line starts without citty (cli/helper-fast.ts).
const helperFast = !program && first === "helper" && !help ? await import("./cli/helper-fast.ts") : null;
const helperRequest = helperFast?.fastHelperRequest(argv.slice(1)) ?? null;
const fast = !program && ((first === "version" && !help) || first === "--version" || first === "-V") ? await import("./cli/version-fast.ts") : null;
// Plugin mode: a CNI runtime runs the binary (`vmlan` in its plugin path) with no arguments and
// CNI_COMMAND set (SPEC.md §2). Only the environment decides, so links and copies of any name work.
if (process.env.CNI_COMMAND !== undefined && argv.length === 0) {
  // A plugin call is one short burst of run-once code: keep it in the interpreter rather than spend
  // CPU compiling it (about 4 ms of an ADD's CPU time here; bench cni).
  Bun.unsafe.setJITPolicy(1000);
  // The services daemon takes the call when it runs (cni/client.ts); else it runs here.
  const handled = await (await import("./cni/client.ts")).viaDaemon();
  // Served: the answer is printed and nothing else is open. process.exit skips the teardown a
  // natural exit runs (~0.6 ms of a compiled Bun's exit here).
  if ("code" in handled) process.exit(handled.code);
  else process.exitCode = await (await import("./cni/entry.ts")).runCniPlugin(process.env, handled.stdin ?? undefined);
} else if (program) {
  const { main } = await program.load();
  process.exit(await main(argv));
} else if (helperFast && helperRequest) {
  // A helper's start is run-once code: keep it in the interpreter (bench helper: about 2 MB less RSS);
  // the forwarding sets the normal policy back once it runs (datapath/forward-inline.ts).
  Bun.unsafe.setJITPolicy(1000);
  await helperFast.runFastHelper(helperRequest);
} else if (fast?.fastVersionArgs(argv.slice(1))) {
  fast.printVersion(argv.slice(1));
} else if (first === "completion" && !help) {
  const { printCompletion } = await import("./cli/completion.ts");
  process.exitCode = printCompletion(argv.slice(1));
} else {
  const { run } = await import("./cli/run.ts");
  await run(argv);
}
export {};
