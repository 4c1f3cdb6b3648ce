/*
 * Reference for `bun run bench offload`: what `vmlan helper --enable-tso --enable-checksum-offload`
 * does, in C. A VM datagram socket (--fd N, frames up to 64 KiB) on one side, a TAP with a virtio-net
 * header and TSO on the other (created here by --tap NAME; the bench puts it on the bridge). Two
 * threads, one per direction, 16 frames per batch (vmnet-helper's count for 64 KiB packets):
 *   vm->host: recvmmsg -> to_host() (offload.h) -> write(header + frame)
 *   host->vm: read(header + frame) -> to_vm() -> sendmmsg, 10 x 50 us retries
 * Usage: offload-forwarder --fd N --tap NAME [--mtu 1500]   Prints "ready", runs until SIGTERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "offload.h"

#define BATCH 16
#define HDR ((int)sizeof(struct virtio_net_hdr))
#define MAX_FRAME 65550
#define SLOT (HDR + MAX_FRAME + 54) /* 65614: header + the largest frame + 1, rounded to 64 */
#define RETRY_MAX 10
#define RETRY_DELAY_US 50

static int vm_fd = -1, tap_fd = -1, mtu = 1500;
static unsigned long malformed_up, malformed_down;

static int open_tap(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) { perror("open /dev/net/tun"); exit(1); }
  struct ifreq ifr = {0};
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); exit(1); }
  if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) < 0) { perror("TUNSETOFFLOAD"); exit(1); }
  return fd;
}

static void *vm_to_host(void *arg) {
  (void)arg;
  static uint8_t bufs[BATCH][SLOT] __attribute__((aligned(64)));
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i] + HDR;
    iov[i].iov_len = SLOT - HDR;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  for (;;) {
    int n = recvmmsg(vm_fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n < 0) { if (errno == EINTR) continue; perror("recvmmsg"); exit(1); }
    if (n == 0) exit(0);
    for (int i = 0; i < n; i++) {
      int len = (int)msgs[i].msg_len;
      int out = len > MAX_FRAME ? -1 : to_host(bufs[i] + HDR, len, mtu, (struct virtio_net_hdr *)bufs[i]);
      if (out < 0) { malformed_up++; continue; }
      if (write(tap_fd, bufs[i], (size_t)(HDR + out)) < 0 && errno != EAGAIN) perror("write tap");
    }
  }
  return NULL;
}

static void *host_to_vm(void *arg) {
  (void)arg;
  static uint8_t bufs[BATCH][SLOT] __attribute__((aligned(64)));
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  struct pollfd pfd = {.fd = tap_fd, .events = POLLIN};
  for (;;) {
    int n = 0, slot = 0;
    while (n < BATCH && slot < BATCH) {
      ssize_t r = read(tap_fd, bufs[slot], SLOT);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      int len = (int)r - HDR;
      if (len < 14 || len > MAX_FRAME || to_vm(bufs[slot] + HDR, len, (struct virtio_net_hdr *)bufs[slot]) < 0) { malformed_down++; continue; }
      iov[n].iov_base = bufs[slot] + HDR;
      iov[n].iov_len = (size_t)len;
      n++;
      slot++;
    }
    if (n == 0) { poll(&pfd, 1, 200); continue; }
    int sent = 0, budget = RETRY_MAX;
    while (sent < n) {
      int r = sendmmsg(vm_fd, msgs + sent, n - sent, MSG_DONTWAIT);
      if (r > 0) { sent += r; continue; }
      if ((errno == EAGAIN || errno == ENOBUFS) && budget-- > 0) { usleep(RETRY_DELAY_US); continue; }
      if (errno == EAGAIN || errno == ENOBUFS) break;
      sent++;
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  const char *tap = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--fd")) vm_fd = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--tap")) tap = argv[i + 1];
    else if (!strcmp(argv[i], "--mtu")) mtu = atoi(argv[i + 1]);
  }
  if (vm_fd < 0 || !tap) { fprintf(stderr, "usage: offload-forwarder --fd N --tap NAME [--mtu 1500]\n"); return 2; }
  tap_fd = open_tap(tap);
  fcntl(tap_fd, F_SETFL, fcntl(tap_fd, F_GETFL) | O_NONBLOCK);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  pthread_t a, b;
  pthread_create(&a, NULL, vm_to_host, NULL);
  pthread_create(&b, NULL, host_to_vm, NULL);
  printf("ready\n");
  fflush(stdout);
  int sig;
  sigwait(&set, &sig);
  fprintf(stderr, "offload-forwarder: malformed vm->host %lu, host->vm %lu\n", malformed_up, malformed_down);
  return 0;
}
