/**
 * The broker's XPC transport loop: poll the listener's event fd (100 ms, then yield to the event loop
 * so signals and timers run, as the unix-socket server does) and hand each event to the service in
 * order. Runs beside BrokerServer in the same process until stop().
 */
import { libc } from "../../ffi/libc/load.ts";
import { POLLIN } from "../../ffi/libc/constants.ts";
import type { XpcListener } from "../ipc/xpc-listener.ts";
import type { XpcBrokerService } from "./xpc-service.ts";

export class XpcBrokerServer {
  #stopped = false;

  constructor(readonly listener: XpcListener, readonly service: XpcBrokerService, readonly log: (m: string) => void) {}

  stop(): void {
    this.#stopped = true;
  }

  async run(): Promise<void> {
    const pfd = new DataView(new ArrayBuffer(8));
    while (!this.#stopped) {
      pfd.setInt32(0, this.listener.eventFd, true);
      pfd.setInt16(4, POLLIN, true);
      pfd.setInt16(6, 0, true);
      if (libc().poll(new Uint8Array(pfd.buffer), 1, 100) > 0) {
        for (let ev = this.#next(); ev; ev = this.#next()) {
          try {
            await this.service.handle(ev);
          } catch (e) {
            this.log(`XPC event ${ev.event} failed: ${(e as Error).message}`);
          }
        }
      }
      await new Promise((r) => setImmediate(r));
    }
  }

  #next() {
    try {
      return this.listener.next();
    } catch (e) {
      this.log((e as Error).message);
      return null;
    }
  }
}
