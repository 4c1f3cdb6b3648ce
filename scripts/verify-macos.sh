#!/bin/sh
# Verifies on a Mac what was only verified on Linux against the vmnet double (docs/macos.md):
#   1. builds shims/vmnet-trampolines.c with the macOS SDK (clang -fblocks, vmnet + CoreFoundation)
#      and shims/vz.m (Objective-C, Virtualization.framework; never compiled off a Mac);
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

echo "macOS $(sw_vers -productVersion), SDK $(xcrun --show-sdk-version), $(uname -m)"

# 1. Trampolines. -mmacosx-version-min=11: the macOS 26 network calls are weak-linked and only called
#    on macOS 26 (hence -Wno-unguarded-availability-new); everything else exists since 10.15/11.
xcrun clang -fblocks -dynamiclib -O2 -Wall -Wextra -Werror -Wno-unguarded-availability-new \
  -mmacosx-version-min=11.0 -I"$ROOT/shims" \
  -o "$OUT/libvmlan-vmnet.dylib" "$ROOT/shims/vmnet-trampolines.c" \
  -framework vmnet -framework CoreFoundation
codesign --force --sign - "$OUT/libvmlan-vmnet.dylib"

# 1b. Virtualization.framework shim (shims/vz.m): never compiled before this script ran on a Mac, so a
#     failure is reported (and fails the script at the end) without blocking the vmnet checks.
#     Built and its exports listed; step 4 boots a VM with it when a kernel is given.
vz_status=0
if xcrun clang -fobjc-arc -dynamiclib -O2 -Wall -Wextra -Werror -Wno-unguarded-availability-new \
  -mmacosx-version-min=12.0 -o "$OUT/libvmlan-vz.dylib" "$ROOT/shims/vz.m" \
  -framework Foundation -framework Virtualization -framework vmnet; then
  codesign --force --sign - "$OUT/libvmlan-vz.dylib"
  echo "finding: shims/vz.m compiles; exports: $(nm -gU "$OUT/libvmlan-vz.dylib" | awk '/vmlan_vz/ {print $3}' | tr '\n' ' ')"
else
  echo "finding: shims/vz.m does NOT compile (errors above)"
  vz_status=1
fi

# 2. A signed bun: entitlements belong to the executable that loads vmnet, not to the dylib.
cp "$BUN_REAL" "$OUT/bun"
codesign --force --sign - --entitlements "$ROOT/shims/entitlements.plist" "$OUT/bun"
codesign -d --entitlements - "$OUT/bun" 2>/dev/null | grep -q com.apple.security.virtualization \
  || { echo "verify-macos.sh: the entitlement did not stick" >&2; exit 1; }

# 3. The macOS subset. VMLAN_VMNET_PATH stays unset: the real framework is the default.
cd "$ROOT"
status=0
VMLAN_VMNET_SHIM_PATH="$OUT/libvmlan-vmnet.dylib" VMLAN_VZ_PATH="$OUT/libvmlan-vz.dylib" "$OUT/bun" test \
  test/ffi/vmnet-layout.test.ts test/integration/darwin/macos.test.ts test/integration/darwin/libc-host.test.ts \
  test/unit/ffi/libc-os.test.ts test/unit/datapath/batch-io.test.ts test/unit/platform/darwin >"$OUT/verify.log" 2>&1 || status=$?
# The vz shim loads and answers its capability checks (nested virtualization: macOS 15+, M3+).
if [ "$vz_status" = 0 ]; then
  VMLAN_VZ_PATH="$OUT/libvmlan-vz.dylib" "$OUT/bun" -e '
    const { vz } = await import("./ffi/vz/load.ts");
    console.log(`finding: vz supported=${vz().vmlan_vz_supported()} nested=${vz().vmlan_vz_nested_supported()}`);
  ' >>"$OUT/verify.log" 2>&1 || status=$?
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
      echo "finding: vm run --detach returned; host process $pid: $(ps -o command= -p "$pid" | cut -c1-100)" >>"$OUT/verify.log"
      sleep 15
      if grep -q "Linux version" "$STATE/vms/vz-detach.console.log"; then banner=yes; else banner=NO; status=1; fi
      echo "finding: detached VM's kernel banner in vms/vz-detach.console.log: $banner" >>"$OUT/verify.log"
      vmlan vm stop vz-detach >>"$OUT/verify.log" 2>&1 || status=1
      if kill -0 "$pid" 2>/dev/null; then
        echo "finding: host process $pid still alive after vm stop" >>"$OUT/verify.log"
        kill -9 "$pid"
        status=1
      else
        echo "finding: vm stop ended the host process (tail of its log: $(tail -n 1 "$STATE/vms/vz-detach.console.log"))" >>"$OUT/verify.log"
      fi
    else
      echo "finding: vm run --detach FAILED (above)" >>"$OUT/verify.log"
      status=1
    fi
  fi
else
  status=1
fi
cat "$OUT/verify.log"
echo
echo "findings (paste into docs/macos.md):"
grep '^finding:' "$OUT/verify.log" || true
exit $status
