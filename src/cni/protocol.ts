/**
 * The CNI execution protocol (SPEC.md §2, §5): commands, spec versions, the error object and its
 * codes, and the environment a runtime passes. Pure: no I/O here.
 */
export const SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export type SpecVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST: SpecVersion = "1.1.0";

export const COMMANDS = ["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"] as const;
export type Command = (typeof COMMANDS)[number];

/** SPEC.md §5 "Error" codes (0-99 reserved). */
export const ERR = {
  INCOMPATIBLE_VERSION: 1, UNSUPPORTED_FIELD: 2, UNKNOWN_CONTAINER: 3, INVALID_ENV: 4, IO: 5, DECODE: 6,
  INVALID_CONFIG: 7, INVALID_NETNS: 8, TRY_AGAIN: 11, NOT_AVAILABLE: 50, LIMITED_CONNECTIVITY: 51, INTERNAL: 999,
} as const;

/** An error the plugin reports as SPEC.md's error object on stdout, exiting non-zero. */
export class CniError extends Error {
  constructor(readonly code: number, msg: string, readonly details = "") {
    super(msg);
  }
  toJSON(version: string): Record<string, unknown> {
    return { cniVersion: version, code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Compares dotted versions numerically; a non-version string is a decode error (code 6). */
export function compareVersions(a: string, b: string): number {
  const parse = (s: string) => {
    if (!/^\d+\.\d+\.\d+$/.test(s)) throw new CniError(ERR.DECODE, `invalid version "${s}": must be in the form x.y.z`);
    return s.split(".").map(Number);
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/**
 * The config's version (absent = "0.1.0", as libcni reads it) checked against ours, and against the
 * first version that has `command` (CHECK 0.4.0, GC and STATUS 1.1.0).
 */
export function checkVersion(version: string | undefined, command: Command): SpecVersion {
  const v = version ?? "0.1.0";
  const since = command === "CHECK" ? "0.4.0" : command === "GC" || command === "STATUS" ? "1.1.0" : null;
  if (since && compareVersions(v, since) < 0) throw new CniError(ERR.INCOMPATIBLE_VERSION, `config version does not allow ${command}`, `config is "${v}"; ${command} needs ${since} or later`);
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(v)) {
    compareVersions(v, LATEST); // a malformed version is a decode error, not a version mismatch
    throw new CniError(ERR.INCOMPATIBLE_VERSION, "incompatible CNI versions", `config is "${v}", plugin supports [${SUPPORTED_VERSIONS.map((s) => `"${s}"`).join(" ")}]`);
  }
  return v as SpecVersion;
}

export interface CniEnv {
  command: Command;
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS as pairs ("K=V;K=V"). */
  args: Map<string, string>;
  path: string;
}

/** Which variables each command needs (SPEC.md §2 "Input"); CNI_PATH is optional everywhere in the spec. */
const REQUIRED: Record<Command, string[]> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME"],
  GC: [], STATUS: [], VERSION: [],
};

const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Reads and validates the protocol's environment; every problem is a code-4 error naming the variable. */
export function readEnv(env: Record<string, string | undefined>): CniEnv {
  const cmd = env.CNI_COMMAND ?? "";
  if (!(COMMANDS as readonly string[]).includes(cmd)) {
    throw new CniError(ERR.INVALID_ENV, cmd ? `unknown CNI_COMMAND: ${escape(cmd)}` : "required env variables [CNI_COMMAND] missing");
  }
  const command = cmd as Command;
  const missing = REQUIRED[command].filter((k) => !env[k]);
  if (missing.length) throw new CniError(ERR.INVALID_ENV, `required env variables [${missing.join(",")}] missing`);
  const containerId = env.CNI_CONTAINERID ?? "";
  if (REQUIRED[command].includes("CNI_CONTAINERID") && !CONTAINER_ID_RE.test(containerId)) {
    throw new CniError(ERR.INVALID_ENV, "invalid characters in CNI_CONTAINERID", escape(containerId));
  }
  const ifname = env.CNI_IFNAME ?? "";
  if (REQUIRED[command].includes("CNI_IFNAME")) checkIfname(ifname);
  return { command, containerId, netns: env.CNI_NETNS ?? "", ifname, args: parseArgs(env.CNI_ARGS ?? ""), path: env.CNI_PATH ?? "" };
}

/**
 * Linux interface names: 1-15 bytes, not "." or "..", no '/', ':' or whitespace (CNI's
 * ValidateInterfaceName); and no control characters, which the kernel takes but no runtime means
 * (they would reach `ip link` and logs as they are).
 */
function checkIfname(n: string): void {
  const bad = n.length === 0 || Buffer.byteLength(n) > 15 || n === "." || n === ".." || /[/:\s\x00-\x1f\x7f]/.test(n);
  if (bad) throw new CniError(ERR.INVALID_ENV, `invalid CNI_IFNAME "${escape(n)}": 1-15 bytes, no '/', ':', whitespace or control characters`);
}

/** "FOO=BAR;ABC=123" → pairs; a pair without '=' is an error naming it (as libcni's args loader). */
export function parseArgs(s: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of s.split(";").filter(Boolean)) {
    const i = pair.indexOf("=");
    if (i <= 0) throw new CniError(ERR.INVALID_ENV, `invalid CNI_ARGS pair "${escape(pair)}": expected KEY=VALUE`);
    out.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return out;
}

/** Control characters escaped, so a hostile value cannot forge lines in a runtime's log. */
export const escape = (s: string) => s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
