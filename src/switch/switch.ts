/**
 * `vmlan switch` (and `socket_vmnet`): a daemon on a unix stream socket that gives every client its
 * own port on one vmlan network (switch/port.ts). Steps, like socket_vmnet's main(): signals, pidfile,
 * listening socket, ready, accept until SIGTERM/SIGINT/SIGHUP, then every port closed, the socket and
 * the pidfile removed. The main thread only accepts and keeps the books (leases, logs); frames move
 * in each port's Workers. Platform and store come in as functions from the command.
 */
import { Listener, type ListenOptions } from "./listener.ts";
import { createPidfile } from "./pidfile.ts";
import { SwitchPort, type PortDeps, type PortEnd } from "./port.ts";
import { escapeText, type SwitchLog } from "./log.ts";
import { closeFd } from "../ipc/unix-stream.ts";

/** Clients served at once; more are refused (each costs two Workers, a TAP and about 4 MiB). */
export const MAX_CLIENTS = 64;
/** The main thread's poll on the listening socket: short, so worker messages and signals are handled promptly. */
const ACCEPT_POLL_MS = 50;
/** Pause after accept() failed (EMFILE and the like) so a full fd table does not spin the loop. */
const ACCEPT_BACKOFF_MS = 200;

export interface SwitchOptions extends ListenOptions {
  pidfile?: string;
  maxClients?: number;
}

/** What the network side gives the switch once it is ready (after the pidfile, before the socket, as socket_vmnet starts vmnet). */
export interface SwitchSetup {
  deps: PortDeps;
  maxPacketSize: number;
  /** Called once the socket listens (the start line, or socket_vmnet's INFO lines). */
  onReady(): void;
}

export async function runSwitch(o: SwitchOptions, setup: () => Promise<SwitchSetup>, log: SwitchLog): Promise<number> {
  const undo: Array<() => void | Promise<void>> = [];
  let stopReason: string | null = null;
  const onSignal = (sig: string) => () => { stopReason ??= `Received signal ${sig}`; };
  const handlers = (["SIGTERM", "SIGINT", "SIGHUP"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  undo.push(() => { for (const [s, h] of handlers) process.off(s, h); });
  const ports = new Map<number, SwitchPort>();
  try {
    let nextId = 1;
    const dropped = { malformed: 0, refused: 0 };
    const finish = async (p: SwitchPort, end: PortEnd) => {
      if (!ports.delete(p.id)) return;
      const c = p.counts();
      try {
        await p.close(end);
      } catch (e) {
        log.error(`${p.who}: cleanup: ${(e as Error).message}`);
      }
      const why = end.reason === "malformed" ? `dropped: ${end.message}` : end.reason === "error" ? `failed: ${end.message}` : end.reason === "refused" ? `refused: ${end.message}` : "closed";
      const lease = p.released ? `; released ${p.released.address ?? "its lease"} (${p.released.id})` : "";
      const line = `${p.who} ${why} (frames to host ${c.toHost}, to VM ${c.toVm}, malformed ${c.malformed}, dropped toward VM ${c.dropsToVm}${lease})`;
      if (end.reason === "malformed" || end.reason === "refused") {
        dropped[end.reason]++;
        // Limited per kind of damage (the message without its numbers), so a flood of one kind hides no other.
        log.limited("warn", `${end.reason}: ${(end.message ?? "").replace(/\d+/g, "#")}`, line);
      } else log.info(line);
    };
    const onMac = (p: SwitchPort, mac: string) => {
      if (!ports.has(p.id)) return;
      const twin = [...ports.values()].find((q) => q !== p && q.mac === mac);
      if (twin) {
        void finish(p, { reason: "refused", message: `MAC ${mac} is already used by ${twin.who}; give each VM its own (e.g. QEMU -device ...,mac=52:54:00:xx:xx:xx)` });
        return;
      }
      try {
        p.learn(mac);
        log.info(`${p.who}: MAC ${mac}`);
      } catch (e) {
        log.limited("error", "protect", `${p.who}: MAC ${mac}: ${(e as Error).message}`);
      }
    };
    if (o.pidfile) {
      const pf = createPidfile(o.pidfile);
      log.info(`Created pidfile "${escapeText(o.pidfile)}" for process ${process.pid}`);
      undo.push(() => { pf.remove(); log.info(`Removed pidfile "${escapeText(o.pidfile!)}" for process ${process.pid}`); });
    }
    const { deps, maxPacketSize, onReady } = await setup();
    const listener = new Listener(o);
    undo.push(() => listener.close());
    undo.push(async () => { await Promise.all([...ports.values()].map((p) => finish(p, { reason: "stopped" }))); });
    onReady();
    while (stopReason === null) {
      let accepted: ReturnType<Listener["accept"]> = [];
      try {
        accepted = listener.accept(ACCEPT_POLL_MS);
      } catch (e) {
        log.limited("error", "accept", `accept: ${(e as Error).message}`);
        await Bun.sleep(ACCEPT_BACKOFF_MS);
      }
      for (const a of accepted) {
        const id = nextId++;
        if (ports.size >= (o.maxClients ?? MAX_CLIENTS)) {
          closeFd(a.fd);
          log.limited("warn", "full", `refused client ${id}${a.cred ? ` (pid ${a.cred.pid}, uid ${a.cred.uid})` : ""}: ${ports.size} clients already (the most this switch serves)`);
          continue;
        }
        let p: SwitchPort;
        try {
          p = new SwitchPort(id, a.fd, a.cred, deps, maxPacketSize, onMac);
        } catch (e) {
          closeFd(a.fd);
          log.limited("error", "port", `client ${id}: no port on the network: ${(e as Error).message}`);
          continue;
        }
        ports.set(id, p);
        log.info(`Accepted a connection: ${p.who} on ${p.host.ifname || "its port"}`);
        void p.ended.then((end) => finish(p, end));
      }
      await new Promise((r) => setImmediate(r));
    }
    log.info(`${stopReason}; served ${nextId - 1} clients, dropped ${dropped.malformed} for broken framing, refused ${dropped.refused}`);
    return 0;
  } finally {
    for (const fn of undo.reverse()) {
      try {
        await fn();
      } catch (e) {
        log.error(`cleanup: ${(e as Error).message}`);
      }
    }
  }
}
