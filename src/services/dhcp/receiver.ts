/**
 * The daemon's one DHCP receiving Worker (worker.ts), shared by every network's DhcpServer: each
 * server adds its socket and gets its datagrams back by fd. A Worker per network cost a thread, a
 * JavaScript heap (about 2 MiB) and five wake-ups a second each: 200 networks were 200 threads and
 * most of the daemon's 395 MiB. The Worker starts with the first socket and ends with the last.
 */
import { CONTROL_PENDING, POLL_MS, type DhcpWorkerCommand, type DhcpWorkerMessage } from "./worker.ts";

/**
 * The Worker's entry. From source it sits next to this file; in the compiled binary it is an extra
 * entry point (scripts/build.ts ENTRY_POINTS) stored under /$bunfs/root/ by its path relative to
 * src/, and a relative specifier resolves against that root (as src/datapath/workers.ts measured).
 */
function workerUrl(): string {
  return import.meta.url.startsWith("file:///$bunfs/") ? "./services/dhcp/worker.ts" : new URL("./worker.ts", import.meta.url).href;
}

/** Grace for the Worker to confirm a removal: a few poll periods (it confirms after its current poll). */
const REMOVE_GRACE_MS = POLL_MS * 5;

interface Subscriber {
  onPacket(bytes: Uint8Array): void;
  /** The socket failed in the Worker, or the Worker died: the server is down and its supervisor restarts it. */
  onError(message: string): void;
  control: Int32Array;
  removed?: () => void;
}

export interface Receiving {
  /** Stops receiving for this socket (bounded wait for the Worker to let go of it); the caller then closes the fd. */
  stop(): Promise<void>;
}

export class DhcpReceiver {
  static #shared: DhcpReceiver | null = null;
  /** The process's receiver (one Worker for all networks). */
  static shared(): DhcpReceiver {
    return (DhcpReceiver.#shared ??= new DhcpReceiver());
  }

  #worker: Worker | null = null;
  readonly #subs = new Map<number, Subscriber>();

  /** Starts receiving datagrams of `fd`; onPacket runs on this thread, once per datagram. */
  add(fd: number, onPacket: (bytes: Uint8Array) => void, onError: (message: string) => void): Receiving {
    if (this.#subs.has(fd)) throw new Error(`DHCP fd ${fd} is already received`);
    const control = new SharedArrayBuffer(4);
    const sub: Subscriber = { onPacket, onError, control: new Int32Array(control) };
    this.#subs.set(fd, sub);
    this.#send({ kind: "add", fd, control });
    return { stop: () => this.#remove(fd, sub) };
  }

  /** How many sockets the Worker serves (tests, logs). */
  get sockets(): number {
    return this.#subs.size;
  }

  async #remove(fd: number, sub: Subscriber): Promise<void> {
    if (this.#subs.get(fd) !== sub) return;
    const done = new Promise<void>((resolve) => { sub.removed = resolve; });
    this.#send({ kind: "remove", fd });
    await Promise.race([done, Bun.sleep(REMOVE_GRACE_MS)]);
    this.#subs.delete(fd);
    if (this.#subs.size === 0) this.#end();
  }

  #send(c: DhcpWorkerCommand): void {
    if (!this.#worker) this.#start();
    this.#worker!.postMessage(c);
  }

  #start(): void {
    const w = new Worker(workerUrl());
    this.#worker = w;
    w.onmessage = (ev: MessageEvent<DhcpWorkerMessage>) => {
      const m = ev.data;
      const sub = this.#subs.get(m.fd);
      if (!sub) return;
      if (m.kind === "packet") {
        try {
          sub.onPacket(m.bytes);
        } finally {
          Atomics.sub(sub.control, CONTROL_PENDING, 1);
        }
      } else if (m.kind === "removed") sub.removed?.();
      else {
        this.#subs.delete(m.fd);
        sub.onError(m.message);
      }
    };
    w.onerror = (ev) => {
      // The Worker is gone with every socket in it: each server is down; the next add starts a new Worker.
      if (this.#worker !== w) return;
      this.#worker = null;
      const subs = [...this.#subs.values()];
      this.#subs.clear();
      for (const s of subs) {
        s.removed?.();
        s.onError(ev.message || "the DHCP receiving Worker died");
      }
    };
  }

  #end(): void {
    this.#worker?.terminate();
    this.#worker = null;
  }
}
