#!/bin/sh
# Part of scripts/verify-macos.sh (macOS 26): the XPC broker and vmlan's guest services against the real
# frameworks, one `finding:` line per fact. Proven on Linux only against the vmnet double
# (test/integration/darwin/xpc-broker.test.ts, guest-services.test.ts); this is what only a Mac shows.
#   scripts/verify-macos-xpc.sh OUT BUN    (OUT: verify-macos.sh's output dir with the shims; BUN: the signed bun)
# Steps: a launchd agent in this user's domain advertising a scratch Mach service runs `vmlan broker` on it;
# two client processes acquire one network over XPC (vmnet-broker's protocol) and recreate it; what `vm run`
# does holds it and picks the native NIC; a helper starts an interface on it; a one-shot inspect shows the
# broker's view; run --native hands COMMAND a datagram socket; the services daemon binds on
# the bridge vmnet made (IP_BOUND_IF, port 67/53); a running vmnet-broker, if installed, serves vmlan's client.
set -u
OUT=$1
BUN=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOG="$OUT/verify.log"
finding() { echo "finding: $*" | tee -a "$LOG"; }
status=0
STATE="$OUT/xpc-state"
NAME="dev.vmlan.verify.$$"
PLIST="$OUT/$NAME.plist"
rm -rf "$STATE"
mkdir -p "$STATE"
export VMLAN_STATE_DIR="$STATE" VMLAN_VMNET_SHIM_PATH="$OUT/libvmlan-vmnet.dylib" VMLAN_VMNET_BROKER="$NAME"
vmlan() { "$BUN" "$ROOT/src/main.ts" "$@"; }

if [ "$(sw_vers -productVersion | cut -d. -f1)" -lt 26 ]; then
  finding "macOS $(sw_vers -productVersion): no vmnet network API, no XPC broker (skipped)"
  exit 0
fi
VMLAN_VMNET_BROKER=none vmlan network create verify --subnet 192.168.230.0/24 >>"$LOG" 2>&1 || { finding "network create verify FAILED"; exit 1; }

cat >"$PLIST" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
  <key>Label</key><string>$NAME</string>
  <key>ProgramArguments</key><array>
    <string>$BUN</string><string>$ROOT/src/main.ts</string><string>broker</string>
    <string>--socket</string><string>$STATE/broker.sock</string><string>--idle-timeout</string><string>2</string>
    <string>--mach-service</string><string>$NAME</string>
  </array>
  <key>EnvironmentVariables</key><dict>
    <key>VMLAN_STATE_DIR</key><string>$STATE</string>
    <key>VMLAN_VMNET_SHIM_PATH</key><string>$OUT/libvmlan-vmnet.dylib</string>
  </dict>
  <key>MachServices</key><dict><key>$NAME</key><true/></dict>
  <key>RunAtLoad</key><true/>
  <key>StandardErrorPath</key><string>$STATE/broker.log</string>
</dict></plist>
EOF
DOMAIN="gui/$(id -u)"
launchctl bootstrap "$DOMAIN" "$PLIST" 2>>"$LOG" || { DOMAIN="user/$(id -u)"; launchctl bootstrap "$DOMAIN" "$PLIST" 2>>"$LOG"; }
sleep 2
if grep -q "serving vmnet networks on the Mach service $NAME" "$STATE/broker.log" 2>/dev/null; then
  finding "vmlan broker runs as a launchd agent ($DOMAIN) and serves the Mach service $NAME"
else
  finding "vmlan broker did NOT come up as a Mach service ($DOMAIN): $(tail -n 3 "$STATE/broker.log" 2>/dev/null | tr '\n' ' ')"
  status=1
fi

SPEC='{"name":"verify","bridge":"vl-verify","mode":"shared","subnet":"192.168.230.0/24","gateway":"192.168.230.1","subnetV6":null,"gatewayV6":null,"mtu":1500}'
acq() { "$BUN" "$ROOT/test/integration/darwin/xpc-acquire.ts" "$@" 2>>"$LOG" | tail -n 1; }
one=$(acq "$NAME" "$SPEC")
two=$(acq "$NAME" "$SPEC")
finding "XPC acquire from vmlan's broker, two processes: $one / $two (want the subnet 192.168.230.0/24 both times: the serialization recreated in another process)"
case "$one$two" in *error*|*none*|"") status=1 ;; esac
vmrun=$(acq platform "$SPEC")
finding "what vm run does (network from the broker, the NIC rule): $vmrun (want held:true, nic:vmnet)"
case "$vmrun" in *'"nic":"vmnet"'*) ;; *) status=1 ;; esac

# A helper holds an interface on the network: vmnet's bridge should carry the gateway, and the daemon bind there.
vmlan helper --network verify --socket "$STATE/vm.sock" >"$STATE/helper.out" 2>>"$LOG" &
helper=$!
sleep 3
bridge=$(ifconfig | awk '/^[a-z]/ {i=$1} /inet 192\.168\.230\.1 / {sub(":","",i); print i}')
finding "vmnet bridge carrying the gateway 192.168.230.1 while a helper runs: ${bridge:-NONE} (ifconfig)"
[ -n "$bridge" ] || status=1
insp=$(vmlan network inspect verify 2>>"$LOG" | grep -o '"detail": *"[^"]*"' | head -n 1)
finding "network inspect in a one-shot process while the broker holds verify: ${insp:-no detail} (want: held by vmlan broker)"
case "$insp" in *"held by vmlan broker"*) ;; *) status=1 ;; esac
fdtype=$(vmlan run --native --network verify -- sh -c 'stat -f %HT /dev/fd/{fd}' 2>>"$LOG" | tail -n 1)
finding "run --native: COMMAND's fd is a ${fdtype:-?} (want Socket: the datagram end of run's own vmnet interface on the broker's network)"
[ "$fdtype" = Socket ] || status=1
vmlan services run >"$STATE/services.log" 2>&1 &
services=$!
sleep 4
kill "$services" 2>/dev/null; wait "$services" 2>/dev/null
if grep -qiE "fail|error|EACCES|EADDRINUSE" "$STATE/services.log"; then
  finding "services daemon on the vmnet bridge: problems: $(grep -iE 'fail|error' "$STATE/services.log" | head -n 2 | tr '\n' ' ')"
  status=1
else
  finding "services daemon bound DHCP (IP_BOUND_IF ${bridge:-?}) and DNS (192.168.230.1:53) with no error: $(tail -n 1 "$STATE/services.log")"
fi
kill "$helper" 2>/dev/null; wait "$helper" 2>/dev/null

sleep 4 # the broker's idle time (2 s) after the last holder
if grep -q "network verify down after 2s idle" "$STATE/broker.log"; then finding "the broker tore the network down after its idle time"; else finding "the broker did NOT report the idle teardown"; status=1; fi
launchctl bootout "$DOMAIN/$NAME" 2>>"$LOG"
rm -f "$PLIST"

# vmlan's client against a running vmnet-broker (only if it is installed).
if launchctl print system/com.github.nirs.vmnet-broker >/dev/null 2>&1; then
  DEF='{"name":"default","bridge":"vl-default","mode":"shared","subnet":"192.168.64.0/24","gateway":"192.168.64.1","subnetV6":null,"gatewayV6":null,"mtu":1500}'
  finding "vmlan's client against vmnet-broker (default asked for as shared): $(acq com.github.nirs.vmnet-broker "$DEF")"
else
  finding "vmnet-broker is not installed: the interop with it was not tried here"
fi
exit $status
