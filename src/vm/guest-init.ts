/**
 * /init of vmlan's guest initramfs (busybox sh, PID 1). Kept as a TS string so the compiled binary
 * carries it and its text is part of the image hash (src/vm/image.ts).
 *
 * Kernel command line it reads (the kernel passes unknown `a.b=c` words through /proc/cmdline):
 *   vmlan.net=MAC,ADDR/PREFIX[,GATEWAY]   one per NIC, matched by MAC; a gateway sets the default route
 *   vmlan.net=MAC,dhcp                    that NIC asks a DHCP server (busybox udhcpc; bridged networks)
 *   vmlan.hostname=NAME
 *   vmlan.cmd=BASE64                      a sh command run after the network is up
 *   vmlan.poweroff=1                      power off after vmlan.cmd
 * Console lines it prints (tests and `vmlan demo` wait for them):
 *   VMLAN-READY <hostname> <addr>...      network configured
 *   VMLAN-CMD-EXIT <rc>                   vmlan.cmd finished
 * Then a shell without prompt or echo runs on the console, so a program on the other end can type.
 */

/** Load order matters: no modules.dep in the image, each needs the ones before it. */
export const VIRTIO_NET_MODULES = [
  "virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", "failover", "net_failover", "virtio_net",
];

export const READY_MARKER = "VMLAN-READY";
export const CMD_EXIT_MARKER = "VMLAN-CMD-EXIT";

export const GUEST_INIT = `#!/bin/sh
export PATH=/bin:/sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /tmp && mount -t devpts devpts /dev/pts 2>/dev/null
echo 1 > /proc/sys/kernel/printk
for m in ${VIRTIO_NET_MODULES.join(" ")}; do
  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null
done
ip link set lo up
args() { for w in $(cat /proc/cmdline); do case "$w" in "$1"=*) echo "\${w#*=}";; esac; done; }
name=$(args vmlan.hostname); [ -n "$name" ] && hostname "$name"
ifname_of() {
  i=0; while [ $i -lt 50 ]; do
    for d in /sys/class/net/*; do [ "$(cat $d/address 2>/dev/null)" = "$1" ] && { basename $d; return 0; }; done
    sleep 0.1; i=$((i+1))
  done
  return 1
}
cat > /tmp/dhcp.sh <<'EOS'
#!/bin/sh
case "$1" in bound|renew)
  ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface"
  [ -n "$router" ] && ip route replace default via "\${router%% *}" dev "$interface"
  echo "$ip" > "/tmp/dhcp-$interface";;
esac
EOS
chmod +x /tmp/dhcp.sh
addrs=""
for spec in $(args vmlan.net); do
  mac=\${spec%%,*}; rest=\${spec#*,}; cidr=\${rest%%,*}; gw=""; [ "$rest" != "$cidr" ] && gw=\${rest#*,}
  dev=$(ifname_of "$mac") || { echo "vmlan-init: no NIC with MAC $mac"; continue; }
  if [ "$cidr" = dhcp ]; then
    ip link set "$dev" up
    udhcpc -i "$dev" -n -q -f -t 10 -T 1 -A 1 -s /tmp/dhcp.sh >/dev/null 2>&1 || echo "vmlan-init: no DHCP lease on $dev"
    addrs="$addrs $(cat /tmp/dhcp-$dev 2>/dev/null || echo none)"
    continue
  fi
  ip addr add "$cidr" dev "$dev" && ip link set "$dev" up
  [ -n "$gw" ] && ip route add default via "$gw" dev "$dev"
  addrs="$addrs \${cidr%/*}"
done
echo "${READY_MARKER} $(hostname)$addrs"
cmd=$(args vmlan.cmd)
if [ -n "$cmd" ]; then
  echo "$cmd" | base64 -d > /tmp/cmd.sh
  sh /tmp/cmd.sh
  echo "${CMD_EXIT_MARKER} $?"
  [ "$(args vmlan.poweroff)" = 1 ] && poweroff -f
fi
stty -echo 2>/dev/null
export PS1=""
while :; do sh; sleep 1; done
`;
