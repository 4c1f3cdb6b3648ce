/**
 * Starts the forwarding on a VM socket and a host port, and stops it: set the shared stop flag, wait
 * for the Workers to notice (they poll at most POLL_MS), terminate whatever is still stuck after a
 * grace period. A datagram socket and a frame fd (the helper's ports on Linux) are served by one
 * Worker that polls both (forward.ts forwardPair): each Worker is a JS heap of its own, about 2.8 MB
 * of RSS (bench helper). Stream clients and vmnet interfaces get a Worker per direction.
 */
import { createStatsBuffer, type Direction } from "./stats.ts";
import { POLL_MS } from "./forward.ts";
import type { PortDesc, WorkerDone, WorkerEvent, WorkerInit } from "./forward-worker.ts";

export interface Forwarding {
  readonly stats: SharedArrayBuffer;
  /** Resolves when the first worker finishes on its own (peer gone, error). */
  readonly firstDone: Promise<WorkerDone>;
  /** Signals both workers to stop and waits for them (bounded). Idempotent. */
  stop(): Promise<void>;
}

export interface ForwardingOptions {
  vm: PortDesc;
  host: PortDesc;
  maxPacketSize: number;
  batchSize?: number;
  /** Events a worker posts before it ends (a stream client's first source MAC). */
  onEvent?: (e: WorkerEvent) => void;
}

/** Grace for a worker to leave its loop after the stop flag is set: several poll periods. */
const STOP_GRACE_MS = POLL_MS * 5;
/** How long a "peer closed" waits for the other direction's more specific reason (malformed, error). */
const PEER_GRACE_MS = 100;

/**
 * The worker's entry. From source it sits next to this file. In the compiled binary it is an extra
 * entry point (scripts/build.ts ENTRY_POINTS), stored under /$bunfs/root/ by its path relative to the
 * entry points' common folder (src/), while this code is bundled into /$bunfs/root/<binary>; a path
 * relative to that root is resolved there (measured: "./datapath/forward-worker.ts" works from any cwd).
 */
function workerUrl(): string {
  return import.meta.url.startsWith("file:///$bunfs/") ? "./datapath/forward-worker.ts" : new URL("./forward-worker.ts", import.meta.url).href;
}

/**
 * The first way the forwarding ended, as `firstDone` reports it. A peer that closed is seen by both
 * directions, often first by the one writing toward it; the reader may still have found it broken
 * (a frame cut short). Its word wins for PEER_GRACE_MS.
 */
export function firstEnd(): { firstDone: Promise<WorkerDone>; report(d: WorkerDone): void } {
  let resolve!: (d: WorkerDone) => void;
  const firstDone = new Promise<WorkerDone>((r) => { resolve = r; });
  let settled = false;
  let peerTimer: ReturnType<typeof setTimeout> | undefined;
  const report = (d: WorkerDone) => {
    if (settled) return;
    if (d.reason === "peer-closed") {
      peerTimer ??= setTimeout(() => { settled = true; resolve(d); }, PEER_GRACE_MS);
      return;
    }
    settled = true;
    clearTimeout(peerTimer);
    resolve(d);
  };
  return { firstDone, report };
}

export function startForwarding(o: ForwardingOptions): Forwarding {
  const stats = createStatsBuffer();
  const controlSab = new SharedArrayBuffer(4);
  const control = new Int32Array(controlSab);
  const url = workerUrl();
  const { firstDone, report: resolveFirst } = firstEnd();
  const finished: Promise<void>[] = [];
  const workers: Worker[] = [];
  // `pair`: the Worker runs dst → src too and posts a WorkerDone for each direction.
  const spawn = (direction: Direction, src: ForwardingOptions["vm"], dst: ForwardingOptions["vm"], pair = false) => {
    const w = new Worker(url);
    workers.push(w);
    let left = pair ? 2 : 1;
    finished.push(new Promise<void>((resolve) => {
      w.onmessage = (ev: MessageEvent<WorkerDone | WorkerEvent>) => {
        if ("event" in ev.data) return o.onEvent?.(ev.data);
        resolveFirst(ev.data);
        if (--left === 0) resolve();
      };
      w.onerror = (ev) => {
        resolveFirst({ direction, reason: "error", message: ev.message });
        resolve();
      };
    }));
    const init: WorkerInit = { direction, src, dst, maxPacketSize: o.maxPacketSize, batchSize: o.batchSize, stats, control: controlSab, pair };
    w.postMessage(init);
  };
  if (o.vm.kind === "dgram" && o.host.kind === "frame-fd") spawn("host_to_vm", o.host, o.vm, true);
  else {
    spawn("host_to_vm", o.host, o.vm);
    spawn("vm_to_host", o.vm, o.host);
  }
  let stopping: Promise<void> | undefined;
  return {
    stats,
    firstDone,
    stop() {
      stopping ??= (async () => {
        Atomics.store(control, 0, 1);
        await Promise.race([Promise.all(finished), Bun.sleep(STOP_GRACE_MS)]);
        for (const w of workers) w.terminate();
      })();
      return stopping;
    },
  };
}
