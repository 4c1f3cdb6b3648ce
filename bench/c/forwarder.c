/*
 * Reference forwarder for `bun run bench datapath`: the same job as `vmlan helper --fd`, in C.
 * Two threads, one per direction, batch 64, like src/datapath:
 *   vm->host: recvmmsg(fd, 64) -> write() each frame to the TAP
 *   host->vm: read() the TAP (non-blocking, up to 64 per poll wakeup) -> sendmmsg(fd), 10 x 50 us retries
 * Usage: forwarder --fd N --tap NAME   (the TAP must exist already; it is attached by name)
 * Prints "ready" on stdout, runs until SIGTERM.
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
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define SLOT 1536
#define RETRY_MAX 10
#define RETRY_DELAY_US 50

static int vm_fd = -1, tap_fd = -1;

static int open_tap(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) { perror("open /dev/net/tun"); exit(1); }
  struct ifreq ifr = {0};
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); exit(1); }
  return fd;
}

static void *vm_to_host(void *arg) {
  (void)arg;
  static char bufs[BATCH][SLOT];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = SLOT;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  for (;;) {
    int n = recvmmsg(vm_fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n < 0) { if (errno == EINTR) continue; perror("recvmmsg"); exit(1); }
    for (int i = 0; i < n; i++) {
      unsigned len = msgs[i].msg_len;
      if (len < 14 || len > 1514) continue;
      if (write(tap_fd, bufs[i], len) < 0 && errno != EAGAIN) { perror("write tap"); }
    }
  }
  return NULL;
}

static void *host_to_vm(void *arg) {
  (void)arg;
  static char bufs[BATCH][SLOT];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  struct pollfd pfd = {.fd = tap_fd, .events = POLLIN};
  for (;;) {
    int n = 0;
    while (n < BATCH) {
      ssize_t r = read(tap_fd, bufs[n], SLOT);
      if (r > 0) { iov[n].iov_len = (size_t)r; n++; continue; }
      if (r < 0 && errno == EINTR) continue;
      break;
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
  }
  if (vm_fd < 0 || !tap) { fprintf(stderr, "usage: forwarder --fd N --tap NAME\n"); return 2; }
  tap_fd = open_tap(tap);
  fcntl(tap_fd, F_SETFL, fcntl(tap_fd, F_GETFL) | O_NONBLOCK);
  pthread_t a, b;
  pthread_create(&a, NULL, vm_to_host, NULL);
  pthread_create(&b, NULL, host_to_vm, NULL);
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
