/** `vmlan doctor`'s check shared by both OSes: can the built-in guest image be built here (src/vm/debian.ts)? */
import type { DoctorCheck } from "../vm/backend.ts";

export function guestImageCheck(): DoctorCheck {
  return Bun.which("apt-get") && Bun.which("dpkg")
    ? { check: "guest-image", status: "ok", detail: "apt-get and dpkg present: the guest image can be built from Debian packages" }
    : { check: "guest-image", status: "warn", detail: "no apt-get/dpkg: the built-in guest image cannot be built", fix: "pass --kernel and --initrd to `vmlan vm run`" };
}
