/**
 * Keeps the forwarding loop out of JavaScriptCore's top tier, FTL (bun:jsc noFTL): its functions
 * still reach the baseline JIT and DFG. Each FTL compile runs B3 and Air, 8–10 MB of the runtime's
 * own code, which a helper's RSS then counts until its next trim (code-pages.ts, up to 5 s later).
 * At full rate the per-frame functions reach FTL within a second, but the per-batch and per-turn ones
 * take 2–15 s (a TSO helper's 16-frame batches get there sooner), and any change of traffic that makes
 * other code hot does it again: a helper sat at 28–31 MB for seconds where its working set is
 * 19–22 MB (bench helper; docs/helper.md). The per-frame ratio against C is the same (bench datapath).
 */
import { noFTL } from "bun:jsc";
import { errno } from "../../ffi/errno.ts";
import { libc } from "../../ffi/libc/load.ts";
import { batchIo } from "./batch-io.ts";
import { FrameFdPort } from "./frame-fd.ts";
import { PairForwarder, step, ValidatingPort, type ForwardOptions } from "./forward.ts";
import * as checksum from "./offload/checksum.ts";
import * as headers from "./offload/headers.ts";
import * as toHost from "./offload/to-host.ts";
import * as toVm from "./offload/to-vm.ts";
import * as vnetHeader from "./offload/vnet-header.ts";
import { FdPoller, PairPoller } from "./poll.ts";
import { FrameBatch } from "./port.ts";
import { Counters } from "./stats.ts";
import { DgramPort, receivedLength, setIovLen } from "./unix-dgram.ts";

type Fn = (...args: unknown[]) => unknown;

/**
 * The one function a forwarding helper lets reach FTL: the checksum's loop over a 64 KiB segment,
 * where DFG's code costs an offload helper 1.2–1.3× C's CPU per GB host→vm and FTL's 0.86–0.98×
 * (bench offload). A leaf with one loop: its FTL compile is one, early and small (its callers stay
 * in DFG and call it), and the trim gives those compiler pages back (bench helper --enable-tso: RSS
 * at full rate within 0.3 MB). jit-tier.test.ts checks that nothing else reaches FTL.
 */
export const FTL_ALLOWED: ReadonlySet<Fn> = new Set<Fn>([checksum.sumBytes as Fn]);

/**
 * Marks each target: a function (a class: also every method and accessor of its prototype and its
 * static ones) or an object (a module's namespace, an FFI symbol table: each function-valued
 * property, classes among them as above), except FTL_ALLOWED. Returns how many functions were marked.
 */
export function keepOutOfFtl(targets: readonly unknown[]): number {
  const marked = new Set<Fn>();
  const mark = (f: unknown) => {
    if (typeof f !== "function" || marked.has(f as Fn) || FTL_ALLOWED.has(f as Fn)) return;
    noFTL(f as Fn);
    marked.add(f as Fn);
    for (const o of [f.prototype as object | undefined, f]) { // a class's methods and accessors, its static ones
      for (const key of o ? Reflect.ownKeys(o) : []) {
        if (key === "constructor" || key === "prototype") continue;
        const d = Reflect.getOwnPropertyDescriptor(o!, key);
        for (const g of [d?.value, d?.get, d?.set]) if (typeof g === "function" && !marked.has(g as Fn)) { noFTL(g as Fn); marked.add(g as Fn); }
      }
    }
  };
  for (const t of targets) {
    if (t !== null && typeof t === "object") for (const key of Reflect.ownKeys(t)) mark(Reflect.get(t, key)); // a namespace's exports may be getters
    else mark(t);
  }
  return marked.size;
}

/**
 * The helper's forwarding on its main thread (forward-inline.ts): the loop, ports, batch, counters,
 * poll, errno, the batch calls and the offload rules, the legs' per-frame steps and `extra` (the
 * caller's own turn). Call it before the loop runs: a mark applies to compilations after it.
 */
export function keepForwardingOutOfFtl(legs: readonly ForwardOptions[], extra: readonly Fn[]): number {
  const steps = legs.map((l) => (l.src instanceof ValidatingPort ? l.src.step : undefined));
  return keepOutOfFtl([
    PairForwarder, ValidatingPort, step, DgramPort, receivedLength, setIovLen, FrameFdPort, FrameBatch, PairPoller, FdPoller, Counters,
    errno, libc, libc(), batchIo(new DataView(new ArrayBuffer(0))), // its closures: every batchIo() call shares their code
    checksum, headers, toHost, toVm, vnetHeader, ...steps, ...extra,
  ]);
}
