/*
 * A stand-in for krunkit's virtio-net unixgram backend, for `bun run bench offload` and the offload
 * tests: it joins a TAP in the "VM" namespace to a VM datagram socket (--fd N, one frame per datagram)
 * the way libkrun does (src/devices/src/virtio/net/unixgram.rs, read for the facts):
 *   --offload   (krunkit offloading=on: the guest negotiated CSUM, GUEST_CSUM, TSO4/6)
 *     TAP -> socket: the virtio-net header the "guest" kernel wrote is dropped, the frame goes out as it
 *       is: up to 64 KiB TCP segments, TCP/UDP checksums only partial (pseudo-header sum).
 *     socket -> TAP: an all-zero header in front (flags 0, GSO_NONE), so the "guest" kernel checks
 *       every checksum itself and counts bad ones (TcpInCsumErrors in /proc/net/snmp).
 *   --offload --no-tso: partial checksums only, frames within the MTU (a guest without TSO).
 *   without --offload: plain frames both ways (krunkit offloading=off), within the MTU.
 * Usage: vnet-vm --fd N --tap NAME [--offload [--no-tso]]   The TAP is created here; prints "ready", runs until
 * SIGTERM or the socket's peer goes away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FRAME 65550
#define HDR ((int)sizeof(struct virtio_net_hdr))

static int vm_fd = -1, tap_fd = -1, offload = 0, tso = 1;

static int open_tap(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) { perror("open /dev/net/tun"); exit(1); }
  struct ifreq ifr = {0};
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); exit(1); }
  if (offload && ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | (tso ? TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN : 0)) < 0) { perror("TUNSETOFFLOAD"); exit(1); }
  return fd;
}

static void *tap_to_vm_socket(void *arg) {
  (void)arg;
  static char buf[HDR + MAX_FRAME + 64];
  int skip = offload ? HDR : 0;
  for (;;) {
    ssize_t n = read(tap_fd, buf, sizeof buf);
    if (n < 0) { if (errno == EINTR) continue; perror("read tap"); exit(1); }
    if (n <= skip) continue;
    while (send(vm_fd, buf + skip, (size_t)(n - skip), 0) < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) { usleep(50); continue; } // libkrun retries ENOBUFS too
      if (errno == ECONNREFUSED || errno == ENOTCONN || errno == EPIPE) exit(0);
      break; // EMSGSIZE and the like: the frame is lost, as in libkrun
    }
  }
  return NULL;
}

static void *vm_socket_to_tap(void *arg) {
  (void)arg;
  static char buf[HDR + MAX_FRAME + 64];
  int skip = offload ? HDR : 0;
  memset(buf, 0, HDR);
  for (;;) {
    ssize_t n = recv(vm_fd, buf + skip, MAX_FRAME + 64, 0);
    if (n < 0) { if (errno == EINTR) continue; if (errno == ECONNREFUSED) exit(0); perror("recv"); exit(1); }
    if (n == 0) exit(0);
    if (write(tap_fd, buf, (size_t)(n + skip)) < 0 && errno != EINVAL && errno != EIO) perror("write tap"); // EIO: vm0 is down (the bench is stopping)
  }
  return NULL;
}

int main(int argc, char **argv) {
  const char *tap = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--fd") && i + 1 < argc) vm_fd = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--tap") && i + 1 < argc) tap = argv[++i];
    else if (!strcmp(argv[i], "--offload")) offload = 1;
    else if (!strcmp(argv[i], "--no-tso")) tso = 0;
  }
  if (vm_fd < 0 || !tap) { fprintf(stderr, "usage: vnet-vm --fd N --tap NAME [--offload [--no-tso]]\n"); return 2; }
  tap_fd = open_tap(tap);
  pthread_t a, b;
  pthread_create(&a, NULL, tap_to_vm_socket, NULL);
  pthread_create(&b, NULL, vm_socket_to_tap, NULL);
  printf("ready\n");
  fflush(stdout);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  int sig;
  sigwait(&set, &sig);
  return 0;
}
