/**
 * The console of a Virtualization.framework VM (a virtio console, hvc0) on plain fds, as shims/vz.m
 * takes them (console_in_fd, console_out_fd):
 *   file   the guest's output into a file (truncated, then appended to: a detached VM's host process
 *          writes its own messages to the same file, <state>/vms/NAME.console.log);
 *   inherit this terminal (fds 0 and 1);
 *   pipe   what `vmlan demo` and GuestConsole drive (src/vm/console.ts): one AF_UNIX stream socketpair,
 *          the VM's end is both console fds, ours becomes `stdout` (a ReadableStream) and `stdin` (a
 *          writer) — the same two members the QEMU backend takes from its child's stdio pipes.
 * close() runs when the VM is over: it closes the VM's end, so `stdout` ends (EOF) as QEMU's does.
 */
import { closeSync, constants, createReadStream, openSync, writeSync } from "node:fs";
import { Readable } from "node:stream";
import { libc } from "../../../ffi/libc/load.ts";
import { OS } from "../../../ffi/libc/os.ts";
import { emulateSocketFlags } from "../../../ffi/libc/variadic.ts";
import { check } from "../../../ffi/errno.ts";
import type { ConsoleMode, VmProcess } from "../../vm/backend.ts";

export interface VzConsole { in: number; out: number; extra: Pick<VmProcess, "stdin" | "stdout">; close(): void }

/** O_APPEND as well as O_TRUNC: a second writer of the file (the host process's stderr) never overwrites the guest's lines. */
const FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND;

export function openConsole(mode: ConsoleMode): VzConsole {
  if (mode.kind === "file") {
    const fd = openSync(mode.path, FILE_FLAGS, 0o644);
    return { in: -1, out: fd, extra: {}, close: () => closeSync(fd) };
  }
  if (mode.stdio === "inherit") return { in: 0, out: 1, extra: {}, close: () => {} };
  return pipedConsole();
}

function pipedConsole(): VzConsole {
  const sv = new Int32Array(2);
  check("socketpair", libc().socketpair(OS.AF_UNIX, OS.SOCK_STREAM | OS.SOCK_CLOEXEC, 0, sv), "console AF_UNIX SOCK_STREAM");
  const [vmEnd, ours] = [sv[0]!, sv[1]!];
  for (const fd of sv) emulateSocketFlags(fd, true, false);
  let oursOpen = true;
  const closeOurs = () => {
    if (!oursOpen) return;
    oursOpen = false;
    closeSync(ours);
  };
  // Node's fd stream reads on the thread pool (blocking reads are fine there) and ends at EOF.
  const reader = createReadStream("", { fd: ours, autoClose: false });
  reader.once("close", closeOurs);
  const stdout = Readable.toWeb(reader) as unknown as ReadableStream<Uint8Array>;
  const stdin = {
    write: (data: string) => (oursOpen ? writeSync(ours, data) : 0),
  };
  let vmOpen = true;
  return {
    in: vmEnd,
    out: vmEnd,
    extra: { stdin, stdout },
    close: () => {
      if (!vmOpen) return;
      vmOpen = false;
      closeSync(vmEnd); // our reader sees EOF, then closes our end
    },
  };
}
