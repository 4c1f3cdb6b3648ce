/**
 * Service definitions that run the broker at boot: a systemd socket + service pair on Linux
 * (socket activation: systemd owns the socket, starts the broker on the first connection, and the
 * broker may exit when idle), a launchd daemon plist on macOS. Pure text; the CLI writes and loads.
 */
import { LAUNCHD_LABEL } from "../core/resources/mach-services.ts";

export interface ServiceParams {
  /** Absolute path of the vmlan binary. */
  bin: string;
  stateDir: string;
  socket: string;
  /** Group allowed to connect (name). */
  group: string;
  /** Seconds the broker stays after its last client when started on demand. */
  exitIdle: number;
  /** macOS: the Mach services launchd advertises for the broker (first: vmlan's own). */
  machServices?: string[];
}

export const SYSTEMD_SOCKET = "vmlan-broker.socket";
export const SYSTEMD_SERVICE = "vmlan-broker.service";
export { LAUNCHD_LABEL };

const quote = (s: string) => (/^[A-Za-z0-9_./:=@+-]+$/.test(s) ? s : `"${s.replace(/(["\\$`])/g, "\\$1")}"`);

export function systemdUnits(p: ServiceParams): Record<string, string> {
  return {
    [SYSTEMD_SOCKET]: `[Unit]
Description=vmlan broker socket

[Socket]
ListenStream=${p.socket}
SocketMode=0660
SocketGroup=${p.group}
RemoveOnStop=yes

[Install]
WantedBy=sockets.target
`,
    [SYSTEMD_SERVICE]: `[Unit]
Description=vmlan broker: owns named networks shared by VMs
Documentation=https://github.com/vmlan/vmlan
Requires=${SYSTEMD_SOCKET}
After=network.target ${SYSTEMD_SOCKET}

[Service]
Type=simple
Environment=VMLAN_STATE_DIR=${quote(p.stateDir)}
ExecStart=${quote(p.bin)} broker --socket ${quote(p.socket)} --group ${quote(p.group)} --exit-idle ${p.exitIdle}
Restart=on-failure

[Install]
Also=${SYSTEMD_SOCKET}
`,
  };
}

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * launchd runs the broker at load and keeps it alive. launchd's own socket activation needs
 * launch_activate_socket(3), which vmlan does not call, so the broker binds the socket itself. Its XPC
 * Mach services (macOS 26) exist only because this plist advertises them ("The service name must exist
 * in a Mach bootstrap that is accessible to the process and be advertised in a launchd.plist",
 * xpc_connection_create_mach_service(3)): vmlan's own, plus vmnet-broker's when asked.
 */
export function launchdPlist(p: ServiceParams): string {
  const [own, ...also] = p.machServices ?? [];
  const argv = [p.bin, "broker", "--socket", p.socket, "--group", p.group, ...(own ? ["--mach-service", own] : []), ...also.flatMap((n) => ["--vmnet-broker-name", n])];
  const args = argv.map((a) => `    <string>${xml(a)}</string>`).join("\n");
  const mach = p.machServices?.length
    ? `  <key>MachServices</key>\n  <dict>\n${p.machServices.map((n) => `    <key>${xml(n)}</key>\n    <true/>`).join("\n")}\n  </dict>\n`
    : "";
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>EnvironmentVariables</key>
  <dict>
    <key>VMLAN_STATE_DIR</key>
    <string>${xml(p.stateDir)}</string>
  </dict>
${mach}  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <true/>
  <key>StandardErrorPath</key>
  <string>${xml(p.stateDir)}/broker.log</string>
</dict>
</plist>
`;
}
