import { defineCommand } from "citty";
import { randomBytes } from "node:crypto";
import { formatArgs, repeated } from "../_args.ts";
import { checkedFlag, intFlag } from "../../flags.ts";
import { formatFrom, note, renderRecord } from "../../output.ts";
import { vmRecordView } from "../../display/vm.ts";
import { DEFAULT_CPUS, DEFAULT_MEMORY_MB, MAX_CPUS, parseVmRequest } from "../../../vm/spec.ts";
import { memoryCheck, parseMemory, vmDeps } from "./_deps.ts";
import { publishArg, publishSpecs } from "../../publish.ts";
import { portsChanged, syncPortsAfter } from "../../ports.ts";

export default defineCommand({
  meta: {
    name: "run",
    description: "Start a guest with one NIC per network",
    details: `Each NIC's address and MAC come from its network with id = the VM name, so the same --name gets
the same address and MAC again. By default a \`vmlan helper\` serves each NIC on a socketpair (QEMU
-netdev dgram); --native passes a TAP fd instead (no helper process). --detach always attaches
natively and returns; the console then goes to <state dir>/vms/NAME.console.log.

-p/--publish SPEC publishes a host port to the guest on its first network (\`vmlan port\`), from the
host's 127.0.0.1 unless SPEC names another address; the ports stay with the VM's attachment and
are in effect while it runs.`,
    examples: [
      "vmlan vm run --network default --name web  # console on this terminal",
      "vmlan vm run --network lab --name web --detach",
      "vmlan vm run --network lab --network default --name gw --cpus 2 --memory 1G",
      "vmlan vm run --network lab --exec 'ip -4 addr' --poweroff",
      "vmlan vm run --network default --name web -p 8080:80 --exec 'httpd -p 80 -h /www' --detach",
    ],
  },
  args: {
    network: { type: "string", valueHint: "NAME", description: "Network to attach to (repeat for more NICs)", required: true },
    name: { type: "string", valueHint: "NAME", description: "VM name: lease id and hostname; the same name gets the same address and MAC (default: vm-<random>)" },
    cpus: intFlag(`Virtual CPUs (default ${DEFAULT_CPUS})`, 1, MAX_CPUS, { valueHint: "N" }),
    memory: checkedFlag(`Memory, e.g. 512 or 1G (default ${DEFAULT_MEMORY_MB}M)`, memoryCheck, { valueHint: "SIZE" }),
    kernel: { type: "string", valueHint: "FILE", description: "Kernel image (default: vmlan's guest image, built on first use)" },
    initrd: { type: "string", valueHint: "FILE", description: "Initramfs for --kernel" },
    cmdline: { type: "string", valueHint: "WORDS", description: "Extra kernel command line words" },
    disk: { type: "string", valueHint: "IMAGE", description: "Disk image (virtio; raw, or qcow2 by extension)" },
    exec: { type: "string", valueHint: "COMMAND", description: "Shell command the guest runs once its network is up (vmlan guest image)" },
    poweroff: { type: "boolean", description: "Power the guest off after --exec" },
    native: { type: "boolean", description: "Attach through a TAP passed to QEMU as an fd, not through a helper" },
    "allow-spoofing": { type: "boolean", description: "No anti-spoofing rules on the VM's ports (stored with its attachments)" },
    console: { type: "string", valueHint: "FILE", description: "Serial console: - (this terminal; foreground) or a file (default: - , or <state>/vms/NAME.console.log with --detach)" },
    detach: { type: "boolean", description: "Start in the background and return; stop with `vmlan vm stop NAME`" },
    ...publishArg,
    ...formatArgs,
  },
  async run({ args, rawArgs }) {
    const networks = repeated(rawArgs, "network");
    const cpus = args.cpus === undefined ? DEFAULT_CPUS : Number(args.cpus);
    const memoryMb = args.memory === undefined ? DEFAULT_MEMORY_MB : parseMemory(args.memory);
    const req = parseVmRequest({
      name: args.name ?? `vm-${randomBytes(3).toString("hex")}`, networks: networks.length ? networks : [args.network], cpus, memoryMb,
      kernel: args.kernel, initrd: args.initrd, cmdline: args.cmdline, disk: args.disk, exec: args.exec, poweroff: args.poweroff,
      console: args.console, detach: args.detach, attachment: args.native || args.detach ? "native" : "helper",
      ...(args["allow-spoofing"] ? { allowSpoofing: true } : {}),
    });
    const publish = publishSpecs(rawArgs);
    if (args.detach && !args.native && process.platform !== "darwin") note("note: --detach attaches natively (a TAP fd held by QEMU): helpers stop with the `vm run` that started them");
    const { startVm, finishVm, stopHelpers } = await import("../../../vm/launch.ts");
    const deps = await vmDeps();
    const vm = await startVm(req, deps, { publish });
    if (publish.length > 0) await portsChanged();
    const { record, proc } = vm;
    const format = formatFrom(args);
    const view = vmRecordView(record, !!req.detach);
    // One line of JSON in the foreground, where the console follows on the same stdout.
    if (format === "json") process.stdout.write(`${JSON.stringify({ ...view, nics: record.nics })}\n`);
    else renderRecord(view, "table");
    if (req.detach || !proc.exited) return;
    const forward = () => {
      // A VM inside this process (macOS) has a handle: first signal ACPI, a second one stops it at once.
      if (proc.stop) return proc.stop();
      try {
        process.kill(record.pid, "SIGTERM");
      } catch {}
    };
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, forward);
    const code = await proc.exited;
    await stopHelpers(vm);
    finishVm(record, deps);
    await syncPortsAfter(deps.networks.store);
    if (code !== 0) note(`qemu exited with code ${code}`);
    process.exitCode = code;
  },
});
