/*
 * Reference for the stream path of `bun run bench datapath`: what `vmlan switch` does for one client,
 * in C, with the same framing (QEMU -netdev stream: a 4-byte big-endian length before each frame) and
 * the same loops as src/datapath/stream-ingress.ts and stream-port.ts:
 *   vm->host: read() up to 256 KiB, cut frames by their lengths, write() each frame to the TAP
 *             straight from the buffer, move an incomplete tail to the front
 *   host->vm: read() the TAP (non-blocking, up to 64 frames per wakeup), then one sendmsg() with two
 *             iovecs per frame (length, frame), finishing a short write after poll(POLLOUT)
 * Usage: stream-forwarder --socket PATH --tap NAME   (the TAP must exist; it is attached by name)
 * Listens on PATH, prints "ready", serves one client at a time, until SIGTERM.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define BATCH 64
#define SLOT 1536
#define RX_BYTES (256 * 1024)
#define STREAM_MAX 65550
#define MAX_PACKET 1514

static int tap_fd = -1;

static int open_tap(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  struct ifreq ifr = {0};
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("tap"); exit(1); }
  return fd;
}

/* vm->host for one client; returns when the client goes or breaks the framing. */
static void *vm_to_host(void *arg) {
  int sock = (int)(intptr_t)arg;
  static unsigned char buf[RX_BYTES];
  size_t have = 0, off = 0;
  for (;;) {
    ssize_t r = read(sock, buf + have, RX_BYTES - have);
    if (r == 0) break;
    if (r < 0) { if (errno == EINTR) continue; break; }
    have += (size_t)r;
    while (have - off >= 4) {
      uint32_t len;
      memcpy(&len, buf + off, 4);
      len = ntohl(len);
      if (len == 0 || len > STREAM_MAX) { fprintf(stderr, "broken length %u\n", len); goto out; }
      if (have - off - 4 < len) break;
      if (len >= 14 && len <= MAX_PACKET) (void)write(tap_fd, buf + off + 4, len);
      off += 4 + len;
    }
    if (off == have) off = have = 0;
    else if (RX_BYTES - have < 4 + STREAM_MAX) { memmove(buf, buf + off, have - off); have -= off; off = 0; }
  }
out:
  shutdown(sock, SHUT_RDWR);
  return NULL;
}

/* host->vm for one client; returns when the client is gone. */
static void *host_to_vm(void *arg) {
  int sock = (int)(intptr_t)arg;
  static unsigned char bufs[BATCH][SLOT];
  uint32_t hdr[BATCH];
  struct iovec iov[2 * BATCH];
  struct pollfd tp = {.fd = tap_fd, .events = POLLIN}, sp = {.fd = sock, .events = POLLOUT};
  for (;;) {
    int n = 0;
    size_t total = 0;
    while (n < BATCH) {
      ssize_t r = read(tap_fd, bufs[n], SLOT);
      if (r > 0) {
        hdr[n] = htonl((uint32_t)r);
        iov[2 * n] = (struct iovec){.iov_base = &hdr[n], .iov_len = 4};
        iov[2 * n + 1] = (struct iovec){.iov_base = bufs[n], .iov_len = (size_t)r};
        total += 4 + (size_t)r;
        n++;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      break;
    }
    if (n == 0) { poll(&tp, 1, 200); continue; }
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2 * n};
    size_t sent = 0;
    while (sent < total) {
      ssize_t r = sendmsg(sock, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) { poll(&sp, 1, 200); continue; }
        return NULL;
      }
      sent += (size_t)r;
      while (r > 0) { /* skip what went out; advance a partly written iovec */
        if ((size_t)r >= m.msg_iov->iov_len) { r -= m.msg_iov->iov_len; m.msg_iov++; m.msg_iovlen--; }
        else { m.msg_iov->iov_base = (char *)m.msg_iov->iov_base + r; m.msg_iov->iov_len -= r; r = 0; }
      }
    }
  }
}

int main(int argc, char **argv) {
  const char *tap = NULL, *path = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--socket")) path = argv[i + 1];
    else if (!strcmp(argv[i], "--tap")) tap = argv[i + 1];
  }
  if (!path || !tap) { fprintf(stderr, "usage: stream-forwarder --socket PATH --tap NAME\n"); return 2; }
  tap_fd = open_tap(tap);
  fcntl(tap_fd, F_SETFL, fcntl(tap_fd, F_GETFL) | O_NONBLOCK);
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
  unlink(path);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 16) < 0) { perror("listen"); return 1; }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) { if (errno == EINTR) continue; perror("accept"); return 1; }
    pthread_t a, b;
    pthread_create(&a, NULL, vm_to_host, (void *)(intptr_t)c);
    pthread_create(&b, NULL, host_to_vm, (void *)(intptr_t)c);
    pthread_join(a, NULL);
    pthread_cancel(b); /* the next client gets a fresh writer */
    pthread_join(b, NULL);
    close(c);
  }
}
