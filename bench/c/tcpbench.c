/*
 * TCP traffic for `bun run bench ports`: the same client and server for every path measured
 * (direct to the guest, through a published port, through a userspace proxy), so only the path differs.
 *   tcpbench serve --sink PORT --echo PORT
 *       sink: each connection is read to EOF and closed (a thread per connection);
 *       echo: each connection gets its one byte back, then is closed (one accept loop)
 *   tcpbench send --host H --port P --mb N     one connection, N MiB written, shutdown, wait for the
 *       server's close; prints "bytes B seconds T" (connect to close)
 *   tcpbench rate --host H --port P --seconds S    connect, 1 byte out, 1 byte back, close, again;
 *       prints "connections N seconds T"
 * H may be IPv4 or IPv6 (getaddrinfo).
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int listener(int port) {
  int fd = socket(AF_INET6, SOCK_STREAM, 0), zero = 0, one = 1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero); /* dual stack: v4 and v6 clients */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)port), .sin6_addr = in6addr_any};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1024) < 0) { perror("listen"); exit(1); }
  return fd;
}

static void *sink_conn(void *arg) {
  int c = (int)(long)arg;
  static __thread char buf[CHUNK];
  while (read(c, buf, sizeof buf) > 0) {}
  close(c);
  return NULL;
}

static void *sink_loop(void *arg) {
  int fd = listener((int)(long)arg);
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    pthread_t t;
    pthread_create(&t, NULL, sink_conn, (void *)(long)c);
    pthread_detach(t);
  }
  return NULL;
}

static void echo_loop(int port) {
  int fd = listener(port);
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    char b;
    if (read(c, &b, 1) == 1 && write(c, &b, 1) != 1) {}
    close(c);
  }
}

static int dial(const char *host, const char *port) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
  if (getaddrinfo(host, port, &hints, &res) != 0) { fprintf(stderr, "cannot resolve %s\n", host); exit(2); }
  int fd = socket(res->ai_family, SOCK_STREAM, 0), one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) { perror("connect"); exit(1); }
  freeaddrinfo(res);
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: tcpbench serve|send|rate ...\n"); return 2; }
  const char *host = "127.0.0.1", *port = "0";
  long sink = 0, echo = 0, mb = 1024;
  double seconds = 3;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--host")) host = argv[i + 1];
    else if (!strcmp(argv[i], "--port")) port = argv[i + 1];
    else if (!strcmp(argv[i], "--sink")) sink = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--echo")) echo = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--mb")) mb = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
  }
  if (!strcmp(argv[1], "serve")) {
    pthread_t t;
    pthread_create(&t, NULL, sink_loop, (void *)sink);
    printf("ready\n");
    fflush(stdout);
    echo_loop((int)echo);
  }
  if (!strcmp(argv[1], "send")) {
    static char buf[CHUNK];
    memset(buf, 0x5a, sizeof buf);
    double t0 = now();
    int fd = dial(host, port);
    long long left = mb * 1024LL * 1024, total = left;
    while (left > 0) {
      ssize_t n = write(fd, buf, left < CHUNK ? (size_t)left : CHUNK);
      if (n <= 0) { perror("write"); return 1; }
      left -= n;
    }
    shutdown(fd, SHUT_WR);
    while (read(fd, buf, sizeof buf) > 0) {} /* the server closes once it has read everything */
    printf("bytes %lld seconds %.6f\n", total, now() - t0);
    return 0;
  }
  if (!strcmp(argv[1], "rate")) {
    long n = 0;
    double t0 = now(), t;
    do {
      int fd = dial(host, port);
      char b = 1;
      if (write(fd, &b, 1) != 1 || read(fd, &b, 1) != 1) { fprintf(stderr, "echo failed\n"); return 1; }
      /* A reset instead of TIME_WAIT: tens of thousands of connections must not run out of local ports. */
      struct linger l = {1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      close(fd);
      n++;
    } while ((t = now() - t0) < seconds);
    printf("connections %ld seconds %.6f\n", n, t);
    return 0;
  }
  return 2;
}
