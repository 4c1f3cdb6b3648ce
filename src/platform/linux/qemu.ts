/**
 * The Linux VM backend: qemu-system-x86_64 with one virtio-net NIC per network, each on a TAP
 * that vmlan opened on the network's bridge and hands over as an inherited fd
 * (`-netdev tap,fd=N`, measured working in shared/native-facts.md §E).
 */
import { existsSync, readFileSync } from "node:fs";
import { HostError } from "../../core/errors.ts";
import type { HypervisorConfig, VmBackend, VmProcess } from "../../vm/backend.ts";
import { openHelperNic } from "../../datapath/helper-nic.ts";
import { detectAccel } from "./kvm.ts";
import { openGuardedTap } from "./port-guard.ts";
import { childCommand } from "../../process/child-command.ts";
import { ensureCommands, type Requirement } from "./apt.ts";

export const QEMU = "qemu-system-x86_64";
export const QEMU_PACKAGE = "qemu-system-x86";
/** The first inherited fd: 0-2 are stdio. */
const FIRST_FD = 3;

export function qemuPath(): string {
  const p = Bun.which(QEMU, { PATH: `${process.env.PATH ?? ""}:/usr/bin:/usr/local/bin` });
  if (!p) throw new HostError(`${QEMU} not found; install it: apt-get install --no-install-recommends ${QEMU_PACKAGE}`, { code: "ENOQEMU" });
  return p;
}

/** The requirement `vmlan demo`, `vm run` and `npm start` share (about 30 MB with --no-install-recommends). */
export const QEMU_REQUIREMENT: Requirement = { command: QEMU, debianPackage: QEMU_PACKAGE, why: "QEMU guests (vmlan demo, vm run)" };

/** As root on Debian/Ubuntu: installs QEMU when it is missing; otherwise says how (apt.ts). */
export function ensureQemuInstalled(log: (msg: string) => void): void {
  ensureCommands([QEMU_REQUIREMENT], { log });
}

/** "7.2.22", or null when QEMU is missing or does not answer. */
export function qemuVersion(): string | null {
  const p = Bun.which(QEMU, { PATH: `${process.env.PATH ?? ""}:/usr/bin:/usr/local/bin` });
  if (!p) return null;
  const r = Bun.spawnSync([p, "--version"], { stdout: "pipe", stderr: "ignore" });
  return r.stdout.toString().match(/version (\S+)/)?.[1] ?? null;
}

/** The argv after the binary. Pure, so it is unit-testable. */
export function qemuArgv(cfg: HypervisorConfig): string[] {
  const a = ["-name", `vmlan-${cfg.name}`, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"];
  if (cfg.accel === "kvm") a.push("-accel", "kvm", "-cpu", "host");
  else a.push("-accel", "tcg");
  a.push("-smp", String(cfg.cpus), "-m", String(cfg.memoryMb));
  a.push("-kernel", cfg.kernel, "-append", cfg.append);
  if (cfg.initrd) a.push("-initrd", cfg.initrd);
  if (cfg.disk) a.push("-drive", `file=${cfg.disk},if=virtio,format=${/\.qcow2$/.test(cfg.disk) ? "qcow2" : "raw"}`);
  cfg.nics.forEach((n, i) => {
    // romfile= (empty) skips the iPXE option ROM: nothing here boots from the network.
    const fd = FIRST_FD + i;
    a.push("-netdev", n.port.kind === "tap" ? `tap,id=n${i},fd=${fd}` : `dgram,id=n${i},local.type=fd,local.str=${fd}`, "-device", `virtio-net-pci,netdev=n${i},mac=${n.mac},romfile=`);
  });
  if (cfg.console.kind === "stdio") {
    // mux + monitor: Ctrl-A X quits on a terminal; signal=off passes Ctrl-C to the guest.
    a.push("-chardev", "stdio,id=con0,mux=on,signal=off", "-serial", "chardev:con0", "-mon", "chardev=con0,mode=readline");
  } else {
    a.push("-serial", `file:${cfg.console.path}`);
  }
  if (cfg.pidfile) a.push("-daemonize", "-pidfile", cfg.pidfile);
  return a;
}

async function start(cfg: HypervisorConfig, self: string[]): Promise<VmProcess> {
  const fds = cfg.nics.map((n) => n.port.fd);
  const piped = cfg.console.kind === "stdio" && cfg.console.stdio === "pipe";
  const inherit = cfg.console.kind === "stdio" && cfg.console.stdio === "inherit";
  const argv = [QEMU, ...qemuArgv(cfg)];
  // In the foreground QEMU must not outlive `vm run`, even a SIGKILLed one (issue #12 item 11);
  // with -daemonize it is meant to.
  const child = cfg.pidfile ? null : childCommand(self, qemuPath(), argv, FIRST_FD + fds.length);
  const proc = Bun.spawn(child?.argv ?? [qemuPath(), ...argv.slice(1)], {
    stdio: [piped ? "pipe" : inherit ? "inherit" : "ignore", piped ? "pipe" : inherit ? "inherit" : "ignore", cfg.pidfile || piped ? "pipe" : "inherit", ...fds, ...(child?.extraFds ?? [])],
  });
  child?.spawned();
  if (!cfg.pidfile) {
    if (!piped) return { pid: proc.pid, exited: proc.exited };
    return {
      pid: proc.pid, exited: proc.exited, stdin: proc.stdin as VmProcess["stdin"],
      stdout: proc.stdout as ReadableStream<Uint8Array>, stderr: proc.stderr as ReadableStream<Uint8Array>,
    };
  }
  // -daemonize: the first process exits once the VM is set up; its stderr carries any error.
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr as ReadableStream).text()]);
  if (code !== 0) throw new HostError(`${QEMU} failed to start (exit ${code}): ${stderr.trim().split("\n").pop()}`);
  const pid = Number(readFileSync(cfg.pidfile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new HostError(`${QEMU} wrote no pid to ${cfg.pidfile}`);
  return { pid };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const cmdline = `/proc/${pid}/cmdline`;
  // A zombie or a reused pid is not our VM.
  if (!existsSync(cmdline)) return false;
  const argv = readFileSync(cmdline, "utf8");
  if (!argv.includes("qemu")) return false;
  return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
}

/** `self`: the argv that runs this vmlan again (for `vmlan helper`). */
export function createQemuBackend(self: string[]): VmBackend {
  return {
    accel: () => detectAccel(),
    openNic: async (o) => (o.attachment === "helper" ? openHelperNic({ self, network: o.network, id: o.id }) : { kind: "tap", ...openGuardedTap(o.bridge, o.identity ?? { mac: null, lease: null }, { inheritable: true }) }),
    preflight: () => void qemuPath(),
    start: (cfg) => start(cfg, self),
    ensureInstalled: ensureQemuInstalled,
    alive,
  };
}
