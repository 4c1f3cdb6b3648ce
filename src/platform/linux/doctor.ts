/** `vmlan doctor` on Linux: what vmlan needs from this host, one line per check, each with a fix. */
import { existsSync } from "node:fs";
import type { DoctorCheck } from "../../vm/backend.ts";
import { guestImageCheck } from "../guest-image-check.ts";
import { detectAccel } from "./kvm.ts";
import { CAP_NET_ADMIN, effectiveCaps, hasCap } from "./privileges.ts";
import { QEMU, QEMU_PACKAGE, qemuVersion } from "./qemu.ts";
import { TUN_PATH } from "./tap.ts";

function nftVersion(): string | null {
  const nft = Bun.which("nft", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` });
  if (!nft) return null;
  const r = Bun.spawnSync([nft, "--version"], { stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString().trim() : null;
}

export function linuxDoctor(): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  const root = process.getuid?.() === 0;
  const netAdmin = hasCap(effectiveCaps(), CAP_NET_ADMIN);
  out.push(netAdmin
    ? { check: "privileges", status: "ok", detail: root ? "root with CAP_NET_ADMIN" : "CAP_NET_ADMIN" }
    : { check: "privileges", status: "fail", detail: "no CAP_NET_ADMIN: bridges, TAPs and NAT cannot be managed", fix: "run vmlan as root (sudo)" });
  out.push(existsSync(TUN_PATH)
    ? { check: "tun", status: "ok", detail: `${TUN_PATH} present` }
    : { check: "tun", status: "fail", detail: `${TUN_PATH} missing: no TAP devices for VMs`, fix: "modprobe tun (or pass /dev/net/tun into the container)" });
  const accel = detectAccel();
  out.push(accel.accel === "kvm"
    ? { check: "kvm", status: "ok", detail: accel.reason }
    : { check: "kvm", status: "warn", detail: accel.reason, fix: accel.fix });
  const nft = nftVersion();
  out.push(nft
    ? { check: "nftables", status: "ok", detail: nft }
    : { check: "nftables", status: "fail", detail: "nft not found: shared networks get no NAT", fix: "apt-get install --no-install-recommends nftables" });
  const qemu = qemuVersion();
  out.push(qemu
    ? { check: "qemu", status: "ok", detail: `${QEMU} ${qemu}` }
    : { check: "qemu", status: "warn", detail: `${QEMU} not found: \`vmlan vm run\` and \`vmlan demo\` need it`, fix: `apt-get install --no-install-recommends ${QEMU_PACKAGE}` });
  out.push(guestImageCheck());
  return out;
}
