#!/bin/sh
# Verifies on a Mac what was only verified on Linux against the vmnet double (docs/macos.md):
#   1. builds shims/vmnet-*.c with the macOS SDK (clang -fblocks, vmnet + CoreFoundation) and
#      shims/vz.m (Objective-C, Virtualization.framework; never compiled off a Mac), as a release does;
#   2. ad-hoc signs a copy of bun with shims/entitlements.plist (com.apple.security.virtualization);
#   3. runs the macOS test subset with that bun:
#        test/ffi/vmnet-layout.test.ts         vmpktdesc/iovec/enums vs the SDK's <vmnet/vmnet.h>
#        test/integration/darwin/macos.test.ts real vmnet: interface start, ARP through vmnet_read/write,
#                                              macOS 26 networks and the serialization question
#        test/integration/darwin/libc-host.test.ts the datapath's libc on libSystem: msghdr_x batches through
#                                              recvmsg_x/sendmsg_x (or the fallback; the mode is printed),
#                                              __error() errno numbers, fcntl/open through the Apple-arm64
#                                              variadic binding, LOCAL_PEERCRED, SCM_RIGHTS (12-byte cmsghdr)
#        test/unit/ffi/libc-os.test.ts, test/unit/platform/darwin/*.test.ts  (pure; also run on Linux)
#   4. the VM smoke test (test/integration/darwin/vz-smoke.ts) when VMLAN_VZ_KERNEL (and VMLAN_VZ_INITRD)
#      name a Linux kernel for this Mac: boots it through shims/vz.m with a datagram-fd NIC, checks the
#      kernel banner on the virtio console, counts guest frames on the fd, stops it (ACPI, then forced).
#   5. detach + stop, also only with VMLAN_VZ_KERNEL: `vmlan vm run --detach` on the `default` network in
#      a scratch state dir (re-execs this vmlan as the hidden `vm _vz-host`, which runs the VM; on macOS 26
#      it holds the network and attaches VZVmnetNetworkDeviceAttachment, on 15 it runs a `vmlan helper`),
#      checks that `vm run` returned while the host process lives on, the banner in
#      <state>/vms/NAME.console.log, then `vmlan vm stop` and that the host process is gone.
#   6. macOS 26 (scripts/verify-macos-xpc.sh): `vmlan broker` as a launchd agent's Mach service, two processes
#      acquiring one network over XPC, what `vm run` does with it, a helper's interface on it, the services
#      daemon binding on vmnet's bridge, the idle teardown, and vmnet-broker (if installed) serving vmlan.
# Every check prints one `finding:` line; the list at the end is what docs/macos.md records.
# Usage: scripts/verify-macos.sh            (macOS 26: unprivileged)
#        sudo scripts/verify-macos.sh       (macOS 15 and older: the classic API needs root)
# Needs the Xcode command line tools; the network API needs the macOS 26 SDK (Xcode 26).
set -eu

[ "$(uname -s)" = Darwin ] || { echo "verify-macos.sh: run this on macOS" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/.cache/macos"
mkdir -p "$OUT"
BUN=${BUN:-"$ROOT/node_modules/.bin/bun"}
[ -x "$BUN" ] || BUN=$(command -v bun)
# node_modules/.bin/bun may be a launcher script; sign the real executable.
BUN_REAL=$("$BUN" -e 'console.log(process.execPath)')

: >"$OUT/verify.log"
# One line per finding, on the terminal and in verify.log (the summary at the end lists them all).
finding() { echo "finding: $*" | tee -a "$OUT/verify.log"; }
echo "macOS $(sw_vers -productVersion), SDK $(xcrun --show-sdk-version), $(uname -m)"

# 1. The shims, exactly as scripts/build.ts builds them for a release (scripts/build-darwin.ts --shims):
#    libvmlan-vmnet.dylib from shims/vmnet-*.c and libvmlan-vz.dylib from shims/vz.m (Objective-C,
#    Virtualization.framework). A VZ shim that does not compile is reported (and fails the script at the
#    end) without blocking the vmnet checks.
vz_status=0
sign_status=0
"$BUN" "$ROOT/scripts/build-darwin.ts" --shims "$OUT" || { rc=$?; [ "$rc" = 3 ] || exit "$rc"; vz_status=1; }
if [ "$vz_status" = 0 ]; then
  finding "shims/vz.m compiles; exports: $(nm -gU "$OUT/libvmlan-vz.dylib" | awk '/vmlan_vz/ {print $3}' | tr '\n' ' ')"
else
  finding "shims/vz.m does NOT compile (errors above)"
fi

# 2. A signed bun: entitlements belong to the executable that loads vmnet, not to the dylib.
cp "$BUN_REAL" "$OUT/bun"
codesign --force --sign - --entitlements "$ROOT/shims/entitlements.plist" "$OUT/bun"
codesign -d --entitlements - "$OUT/bun" 2>/dev/null | grep -q com.apple.security.virtualization \
  || { echo "verify-macos.sh: the entitlement did not stick" >&2; exit 1; }

# 2b. The signature code written for darwin binaries built on Linux, against Apple's tools: vmlan's check
#     must accept codesign's signature, and codesign must accept (and the kernel run) vmlan's ad-hoc one.
if "$BUN" "$ROOT/scripts/macho-signature.ts" "$OUT/bun" >>"$OUT/sign.log" 2>&1; then
  finding "scripts/macho-signature.ts accepts codesign's signature (entitlements, $(uname -m))"
else
  finding "scripts/macho-signature.ts REJECTS codesign's signature: $(tail -n 3 "$OUT/sign.log" | tr '\n' ' ')"
  sign_status=1
fi
cp "$BUN_REAL" "$OUT/bun-ts-signed"
"$BUN" "$ROOT/scripts/macho-adhoc-sign.ts" "$OUT/bun-ts-signed" vmlan-verify
if codesign --verify --strict "$OUT/bun-ts-signed" >>"$OUT/sign.log" 2>&1 && "$OUT/bun-ts-signed" --version >/dev/null 2>&1; then
  finding "an ad-hoc signature from scripts/macho-adhoc-sign.ts passes codesign --verify --strict and runs"
else
  finding "the ad-hoc signature from scripts/macho-adhoc-sign.ts FAILS codesign --verify --strict or exec: $(tail -n 3 "$OUT/sign.log" | tr '\n' ' ')"
  sign_status=1
fi

# 3. The macOS subset. VMLAN_VMNET_PATH stays unset: the real framework is the default.
cd "$ROOT"
status=0
VMLAN_VMNET_SHIM_PATH="$OUT/libvmlan-vmnet.dylib" VMLAN_VZ_PATH="$OUT/libvmlan-vz.dylib" "$OUT/bun" test \
  test/ffi/vmnet-layout.test.ts test/integration/darwin/macos.test.ts test/integration/darwin/libc-host.test.ts \
  test/unit/ffi/libc-os.test.ts test/unit/ffi/udp-os.test.ts test/unit/ffi/ifaddrs.test.ts test/unit/datapath/batch-io.test.ts \
  test/unit/platform/darwin test/unit/broker test/scripts/macho-signature.test.ts >>"$OUT/verify.log" 2>&1 || status=$?
# The vz shim loads and answers its capability checks (nested virtualization: macOS 15+, M3+).
if [ "$vz_status" = 0 ]; then
  VMLAN_VZ_PATH="$OUT/libvmlan-vz.dylib" "$OUT/bun" -e '
    const { vz } = await import("./ffi/vz/load.ts");
    console.log(`finding: vz supported=${vz().vmlan_vz_supported()} nested=${vz().vmlan_vz_nested_supported()}`);
  ' >>"$OUT/verify.log" 2>&1 || status=$?
  # `vmlan doctor` here (the signed bun, the shims just built): each of its lines as a finding.
  VMLAN_VMNET_SHIM_PATH="$OUT/libvmlan-vmnet.dylib" VMLAN_VZ_PATH="$OUT/libvmlan-vz.dylib" "$OUT/bun" src/main.ts doctor --format json \
    | "$OUT/bun" -e 'for (const c of JSON.parse(await Bun.stdin.text()).checks) console.log(`finding: doctor ${c.check} ${c.status}: ${c.detail}`)' \
    >>"$OUT/verify.log" 2>&1 || status=$?
  # 4. VM smoke test (skips itself, with a finding line, when VMLAN_VZ_KERNEL is unset).
  VMLAN_VZ_PATH="$OUT/libvmlan-vz.dylib" "$OUT/bun" test/integration/darwin/vz-smoke.ts >>"$OUT/verify.log" 2>&1 || status=$?
  # 5. Detach + stop through the CLI (source run with the signed bun: the host child is the same bun).
  if [ -n "${VMLAN_VZ_KERNEL:-}" ]; then
    STATE="$OUT/state"
    rm -rf "$STATE"
    vmlan() {
      VMLAN_STATE_DIR="$STATE" VMLAN_VMNET_SHIM_PATH="$OUT/libvmlan-vmnet.dylib" VMLAN_VZ_PATH="$OUT/libvmlan-vz.dylib" \
        "$OUT/bun" "$ROOT/src/main.ts" "$@"
    }
    vmlan network create default --subnet 192.168.64.0/24 >>"$OUT/verify.log" 2>&1 || true
    if vmlan vm run --detach --name vz-detach --network default --kernel "$VMLAN_VZ_KERNEL" \
      ${VMLAN_VZ_INITRD:+--initrd "$VMLAN_VZ_INITRD"} >>"$OUT/verify.log" 2>&1; then
      pid=$(sed -n 's/^  "pid": \([0-9]*\),$/\1/p' "$STATE/vms/vz-detach.json")
      finding "vm run --detach returned; host process $pid: $(ps -o command= -p "$pid" | cut -c1-100)"
      sleep 15
      if grep -q "Linux version" "$STATE/vms/vz-detach.console.log"; then banner=yes; else banner=NO; status=1; fi
      finding "detached VM's kernel banner in vms/vz-detach.console.log: $banner"
      vmlan vm stop vz-detach >>"$OUT/verify.log" 2>&1 || status=1
      if kill -0 "$pid" 2>/dev/null; then
        finding "host process $pid still alive after vm stop"
        kill -9 "$pid"
        status=1
      else
        finding "vm stop ended the host process (tail of its log: $(tail -n 1 "$STATE/vms/vz-detach.console.log"))"
      fi
    else
      finding "vm run --detach FAILED (above)"
      status=1
    fi
  fi
else
  status=1
fi
# 6. The XPC broker and the guest services (macOS 26).
sh "$ROOT/scripts/verify-macos-xpc.sh" "$OUT" "$OUT/bun" || status=1
cat "$OUT/verify.log"
echo
echo "findings (paste into docs/macos.md):"
grep '^finding:' "$OUT/verify.log" || true
[ "$sign_status" = 0 ] || status=1
exit $status
