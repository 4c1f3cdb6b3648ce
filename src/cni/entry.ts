/**
 * Plugin mode: the runtime runs the binary with CNI_COMMAND set and the config on stdin (SPEC.md
 * §2). One result or one error object on stdout, exit 0 or 1; nothing else ever goes to stdout.
 * Logs (VMLAN_DEBUG=1: the stack of a failure) go to stderr only.
 */
import { fstatSync, readSync, writeSync } from "node:fs";
import { VmlanError } from "../core/errors.ts";
import { parseConf, targetOf } from "./config.ts";
import type { Invocation } from "./invocation.ts";
import { checkVersion, CniError, type Command, ERR, LATEST, readEnv, SUPPORTED_VERSIONS } from "./protocol.ts";
import { encodeResult, type Result } from "./result.ts";

type Op = (inv: Invocation) => Promise<Result | void>;
type Ops = Record<Exclude<Command, "VERSION">, Op>;
/** Each role's code loads only when it runs (every millisecond of an ADD counts: bench cni). */
const ROLES: Record<"main" | "ipam", () => Promise<Ops>> = {
  main: () => import("./main-plugin.ts").then((m) => ({ ADD: m.mainAdd, DEL: m.mainDel, CHECK: m.mainCheck, GC: m.mainGc, STATUS: m.mainStatus })),
  ipam: () => import("./ipam-plugin.ts").then((m) => ({ ADD: m.ipamAdd, DEL: m.ipamDel, CHECK: m.ipamCheck, GC: m.ipamGc, STATUS: m.ipamStatus })),
};

async function readStdin(): Promise<string> {
  // A terminal (someone typed CNI_COMMAND=VERSION vmlan) or /dev/null: no config. Not node:tty, whose
  // import pulls in Node's whole stream stack (a third of a VERSION call).
  let tty: boolean;
  try {
    tty = fstatSync(0).isCharacterDevice();
  } catch {
    return ""; // no stdin at all (fd 0 closed)
  }
  if (tty) return "";
  return readAll();
}

/**
 * The config with plain read(2)s: a plugin's stdin is a pipe or a file read once to its end, and
 * building Bun.stdin's stream costs a millisecond or two of an ADD. A non-blocking fd 0 (EAGAIN)
 * gets the rest through Bun.stdin, which waits for it.
 */
async function readAll(): Promise<string> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const buf = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      chunks.push(await Bun.stdin.bytes());
      n = 0;
    }
    if (n === 0) return Buffer.concat(chunks).toString("utf8");
    chunks.push(buf.subarray(0, n));
  }
}

/** Runs one CNI command in this process; `stdin`: the config when it was read already (cni/client.ts). */
export async function runCniPlugin(env: Record<string, string | undefined> = process.env, stdin?: string): Promise<number> {
  const r = await runCni(env, stdin ?? readStdin);
  writeOut(r.out);
  return r.code;
}

/**
 * One CNI command: the exit code and the one object for stdout. Here for a plugin process, or in the
 * services daemon for a plugin that handed it its call (cni/serve.ts).
 */
export async function runCni(env: Record<string, string | undefined>, input: string | (() => Promise<string>)): Promise<{ code: number; out: string }> {
  let version: string = LATEST;
  try {
    const e = readEnv(env);
    const stdin = typeof input === "string" ? input : await input();
    if (e.command === "VERSION") {
      const asked = versionAsked(stdin);
      const cniVersion = asked && (SUPPORTED_VERSIONS as readonly string[]).includes(asked) ? asked : LATEST;
      return { code: 0, out: line({ cniVersion, supportedVersions: SUPPORTED_VERSIONS }) };
    }
    const conf = parseConf(stdin);
    const v = checkVersion(conf.cniVersion, e.command);
    version = v;
    const target = targetOf(conf);
    const ops = await ROLES[target.role]();
    const result = await ops[e.command]({ env: e, conf, version: v, target });
    return { code: 0, out: result ? line(encodeResult(result, v)) : "" };
  } catch (err) {
    if (env.VMLAN_DEBUG === "1" && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return { code: 1, out: line(toCniError(err).toJSON(version)) };
  }
}

const line = (obj: unknown) => `${JSON.stringify(obj)}\n`;

function versionAsked(stdin: string): string | undefined {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One write(2) of the whole object to fd 1. Not process.stdout: building that stream costs more than
 * the rest of a VERSION call, and a plugin writes exactly one small object.
 */
export function writeOut(text: string): void {
  const bytes = Buffer.from(text);
  for (let off = 0; off < bytes.length;) off += writeSync(1, bytes, off);
}

/**
 * vmlan's errors as CNI codes: bad input → 7, a busy store → 11 (try again), others 100 + vmlan's
 * exit code (104 conflict, e.g. no free address; 105 permission; 106 host failure; 107 store).
 */
export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof VmlanError) {
    if (e.exitCode === 2 || e.exitCode === 3) return new CniError(ERR.INVALID_CONFIG, e.message);
    if (e.exitCode === 7 && /busy/.test(e.message)) return new CniError(ERR.TRY_AGAIN, e.message);
    return new CniError(100 + e.exitCode, e.message);
  }
  return new CniError(ERR.INTERNAL, e instanceof Error ? e.message : String(e));
}
