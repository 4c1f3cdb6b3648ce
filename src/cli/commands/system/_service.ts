import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SYSTEMD_SOCKET, SYSTEMD_SERVICE, LAUNCHD_LABEL } from "../../../broker/service-files.ts";

export const hasGroup = (name: string) =>
  existsSync("/etc/group") && readFileSync("/etc/group", "utf8").split("\n").some((l) => l.split(":")[0] === name);

/** The folder for service files below `root` and their names on this OS. */
export function serviceLayout(root: string): { dir: string; names: string[]; isDarwin: boolean } {
  return process.platform === "darwin"
    ? { dir: join(root, "Library/LaunchDaemons"), names: [`${LAUNCHD_LABEL}.plist`], isDarwin: true }
    : { dir: join(root, "etc/systemd/system"), names: [SYSTEMD_SOCKET, SYSTEMD_SERVICE], isDarwin: false };
}

/** Whether a service manager is there to load units (systemd may be absent in containers). */
export const canLoad = (isDarwin: boolean) => isDarwin || existsSync("/run/systemd/system");
