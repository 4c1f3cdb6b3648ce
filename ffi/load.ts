/**
 * The shared loader. A library is opened on first use, never at import, so `vmlan version`
 * opens nothing (test/startup.test.ts checks this with VMLAN_DEBUG_FFI=1).
 *   VMLAN_DEBUG_FFI=1  log "ffi: open <lib>" and every call with its arguments and result (stderr)
 *   VMLAN_TRACE_FFI=1  count calls and time per symbol, report at exit (stderr)
 * Each library has a path override variable (e.g. VMLAN_LIBC_PATH) for doubles and odd hosts.
 */
import { dlopen, type FFIFunction } from "bun:ffi";
import { HostError } from "../src/core/errors.ts";

export interface LibrarySpec<T extends Record<string, FFIFunction>> {
  /** Short name for messages, e.g. "libc". */
  name: string;
  /** Environment variable that overrides the path. */
  envVar: string;
  defaultPath: string;
  symbols: T;
}

type Symbols<T extends Record<string, FFIFunction>> = ReturnType<typeof dlopen<T>>["symbols"];

const traceTable = new Map<string, { calls: number; ns: number }>();
let traceHooked = false;

function reportTrace(): void {
  const rows = [...traceTable].sort((a, b) => b[1].ns - a[1].ns);
  for (const [sym, t] of rows) process.stderr.write(`ffi-trace: ${sym} calls=${t.calls} total_us=${(t.ns / 1e3).toFixed(1)}\n`);
}

function wrap<T extends Record<string, FFIFunction>>(lib: string, raw: Symbols<T>, debug: boolean, trace: boolean): Symbols<T> {
  const out: Record<string, unknown> = {};
  for (const [sym, fn] of Object.entries(raw as unknown as Record<string, (...a: unknown[]) => unknown>)) {
    const key = `${lib}.${sym}`;
    out[sym] = (...args: unknown[]) => {
      const t0 = trace ? Bun.nanoseconds() : 0;
      const r = fn(...args);
      if (trace) {
        const t = traceTable.get(key) ?? { calls: 0, ns: 0 };
        t.calls++;
        t.ns += Bun.nanoseconds() - t0;
        traceTable.set(key, t);
      }
      if (debug) {
        const shown = args.map((a) => (ArrayBuffer.isView(a) ? `<${a.byteLength} bytes>` : String(a)));
        process.stderr.write(`ffi: ${key}(${shown.join(", ")}) = ${String(r)}\n`);
      }
      return r;
    };
  }
  return out as Symbols<T>;
}

/** Returns a getter that opens the library on its first call and caches the symbol table. */
export function lazyLibrary<T extends Record<string, FFIFunction>>(spec: LibrarySpec<T>): () => Symbols<T> {
  let cached: Symbols<T> | undefined;
  return () => {
    if (cached) return cached;
    const path = process.env[spec.envVar] || spec.defaultPath;
    const debug = process.env.VMLAN_DEBUG_FFI === "1";
    const trace = process.env.VMLAN_TRACE_FFI === "1";
    if (debug) process.stderr.write(`ffi: open ${path}\n`);
    let raw: Symbols<T>;
    try {
      raw = dlopen(path, spec.symbols).symbols;
    } catch (cause) {
      throw new HostError(`cannot open ${spec.name} at ${path} (set ${spec.envVar} to override): ${(cause as Error).message}`, { cause });
    }
    if (trace && !traceHooked) {
      traceHooked = true;
      process.on("exit", reportTrace);
    }
    cached = debug || trace ? wrap(spec.name, raw, debug, trace) : raw;
    return cached;
  };
}
