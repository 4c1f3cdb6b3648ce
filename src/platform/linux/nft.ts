/**
 * Runs nft commands and scripts. In-process through libnftables (ffi/nftables) when it loads, which
 * is what `nft` itself is built on, so the parser, the error text and the one-transaction batch are
 * the same; otherwise the `nft` binary. The arguments are the binary's: leading `-j` (JSON output)
 * and `-f -` (the script) are options, the rest is the command, joined with spaces as nft's main does.
 */
import { CString, type Pointer } from "bun:ffi";
import { statSync } from "node:fs";
import { HostError } from "../../core/errors.ts";
import { libnftables, NFT_CTX_DEFAULT, NFT_CTX_OUTPUT_JSON } from "../../../ffi/nftables/load.ts";

export interface NftResult {
  code: number;
  stdout: string;
  stderr: string;
}

function nftPath(): string {
  const found = Bun.which("nft", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` });
  if (!found) throw new HostError("nft not found: install nftables (apt-get install nftables)");
  return found;
}

function execNft(args: string[], script?: string): NftResult {
  const r = Bun.spawnSync([nftPath(), ...args], {
    stdin: script === undefined ? "ignore" : Buffer.from(script),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** The library, or null when it cannot be opened (then every call execs nft). Decided once. */
let lib: ReturnType<typeof libnftables> | null | undefined;
function library(): ReturnType<typeof libnftables> | null {
  if (lib === undefined) {
    try {
      lib = libnftables();
    } catch {
      lib = null;
    }
  }
  return lib;
}

const text = (p: unknown): string => (p ? new CString(p as Pointer).toString() : "");

/**
 * One context per network namespace, kept for the process's life: the kernel makes the close of an
 * nf_tables socket after a commit wait for that commit's RCU grace period (5–15 ms here), so a
 * context per call would pay it on every call, as each `nft` child does at its exit. Its cache is
 * refreshed by libnftables whenever the ruleset's generation changed (another process's commit).
 * Keyed by namespace because the socket stays in the one it was opened in, and a thread may setns.
 */
const contexts = new Map<number, Pointer>();
function contextFor(l: NonNullable<typeof lib>): Pointer {
  const ns = statSync("/proc/thread-self/ns/net").ino;
  let ctx = contexts.get(ns);
  if (ctx === undefined) {
    const made = l.nft_ctx_new(NFT_CTX_DEFAULT) as Pointer | null;
    if (made === null) throw new HostError("libnftables: nft_ctx_new failed");
    ctx = made;
    l.nft_ctx_buffer_output(ctx);
    l.nft_ctx_buffer_error(ctx);
    contexts.set(ns, ctx);
  }
  return ctx;
}

function libNft(l: NonNullable<typeof lib>, json: boolean, input: string): NftResult {
  const ctx = contextFor(l);
  l.nft_ctx_output_set_flags(ctx, json ? NFT_CTX_OUTPUT_JSON : 0);
  const rc = l.nft_run_cmd_from_buffer(ctx, Buffer.from(`${input}\0`));
  // The buffers hold this call's output only: libnftables rewinds them at each run.
  return { code: rc === 0 ? 0 : 1, stdout: text(l.nft_ctx_get_output_buffer(ctx)), stderr: text(l.nft_ctx_get_error_buffer(ctx)) };
}

/** Runs `nft ARGS` (`-f -` reads `script`); never throws on nft's own failure: see `code` and `stderr`. */
export function runNft(args: string[], script?: string): NftResult {
  const l = library();
  let json = false;
  let rest = args;
  for (;;) {
    if (rest[0] === "-j") [json, rest] = [true, rest.slice(1)];
    else if (rest[0] === "-f" && rest[1] === "-") rest = rest.slice(2);
    else break;
  }
  const isScript = args.includes("-f");
  // Anything else (another option, a script with a command line) is left to the binary.
  if (l === null || rest[0]?.startsWith("-") || (isScript && rest.length > 0)) return execNft(args, script);
  return libNft(l, json, isScript ? (script ?? "") : rest.join(" "));
}

/** Applies an nft script in one transaction; throws HostError naming `what` and nft's error line. */
export function applyScript(script: string, what: string): void {
  const r = runNft(["-f", "-"], script);
  if (r.code !== 0) {
    const first = r.stderr.split("\n").find((l) => l.includes("Error")) ?? r.stderr.trim().split("\n")[0] ?? "";
    throw new HostError(`nft failed to ${what}: ${first.trim()}`, { details: { stderr: r.stderr, script } });
  }
}
