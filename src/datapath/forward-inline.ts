/**
 * A datagram VM socket and a frame fd (the Linux helper's two ports) forwarded on the calling
 * thread, between turns of its event loop: no Worker, so no second JS heap and no second copy of
 * the module graph (bench helper). A turn moves frames while there are some, for up to TURN_ROUNDS
 * rounds (each at most a batch per direction), or, when a round finds nothing, waits in one poll(2)
 * on both fds for up to IDLE_WAIT_MS; then the event loop runs (signals, timers, the helper's stop)
 * and the next turn follows through setImmediate. A signal sent to the process interrupts that
 * poll (EINTR: Linux hands a process-directed signal to the main thread when it does not block
 * it), so SIGTERM is answered at once, as with a Worker.
 */
import { createStatsBuffer, type Direction } from "./stats.ts";
import { PairForwarder, type StopReason } from "./forward.ts";
import { PairPoller } from "./poll.ts";
import { leg } from "./legs.ts";
import { firstEnd, type Forwarding, type ForwardingOptions } from "./workers.ts";
import { keepForwardingOutOfFtl } from "./no-ftl.ts";

/** Rounds per turn while frames move: 8 × 64-frame batches each way, about 1–2 ms at full rate. */
const TURN_ROUNDS = 8;
/** Longest an idle turn waits in poll(2) before the event loop runs again (timers, a signal another thread took). */
const IDLE_WAIT_MS = 100;
const DIRECTIONS: readonly Direction[] = ["host_to_vm", "vm_to_host"];

export async function forwardInline(o: ForwardingOptions): Promise<Forwarding> {
  const stats = createStatsBuffer();
  const { firstDone, report } = firstEnd();
  const end = (i: number, why: StopReason | Error) =>
    report(why instanceof Error ? { direction: DIRECTIONS[i]!, reason: "error", message: why.message } : { direction: DIRECTIONS[i]!, reason: why });
  const control = new Int32Array(new SharedArrayBuffer(4)); // never set: stop() ends the turns here
  const init = { stats, maxPacketSize: o.maxPacketSize, batchSize: o.batchSize };
  let f: PairForwarder;
  try {
    f = new PairForwarder([await leg(init, o.host, o.vm, "host_to_vm", control), await leg(init, o.vm, o.host, "vm_to_host", control)], new PairPoller([o.host.fd, o.vm.fd]), end);
  } catch (e) {
    end(0, e as Error);
    return { stats, firstDone, stop: async () => {} };
  }
  // The helper's main thread starts in the interpreter (main.ts: JIT policy 1000, for run-once start-up
  // code); from here on it runs the loop, which the JIT should compile as a Worker's would (per-frame
  // CPU: 3.44 µs interpreted against 3.03 µs compiled, 64 B vm→host here).
  Bun.unsafe.setJITPolicy(1);
  let stopped = false;
  const turn = () => {
    if (stopped) return;
    try {
      f.turn(TURN_ROUNDS, IDLE_WAIT_MS);
    } catch (e) { // not a leg's own failure (those end that leg): poll itself failed; as a Worker's crash would, it ends both
      end(0, e as Error);
      stopped = true;
      f.finish();
    }
    if (f.live && !stopped) setImmediate(turn);
  };
  keepForwardingOutOfFtl(f.legs, [turn]); // DFG at most: an FTL compile costs the helper 8–10 MB of RSS (no-ftl.ts)
  setImmediate(turn);
  return {
    stats,
    firstDone,
    async stop() {
      if (stopped) return;
      stopped = true;
      f.finish();
    },
  };
}
