/*
 * XPC connections between processes for the double: a Mach service is a unix stream socket named
 * after the service in VMLAN_DOUBLE_MACH_DIR (the tests' directory; on macOS launchd's bootstrap
 * does this, and a name must be advertised in a launchd.plist: without the directory a listener
 * gets XPC_ERROR_CONNECTION_INVALID, as an unadvertised name does). Messages, replies and
 * connection-lifetime events follow xpc_connection_create(3): connections start suspended, the
 * handler is set before the first resume, a peer that goes away is XPC_ERROR_CONNECTION_INVALID on
 * the listener's side and XPC_ERROR_CONNECTION_INTERRUPTED on the client's (a pending reply gets
 * it too), cancel ends with XPC_ERROR_CONNECTION_INVALID. Misuse is a violation (double.h).
 */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <Block.h>
#include "xpc-wire.h"

enum kind { LISTENER, PEER, CLIENT };
struct waiter { uint64_t id; xpc_object_t reply; struct waiter *next; };
struct double_conn {
  enum kind kind;
  char name[104];
  int fd;
  dispatch_queue_t q;
  xpc_handler_t handler;
  int resumes;
  bool invalid, cancelled, ended; /* ended: the final error event was delivered */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  uint64_t next_id;
  struct waiter *waiters;
  struct ucred peer;
  xpc_object_t self;
};

static struct double_conn *new_conn(enum kind k, const char *name, dispatch_queue_t q) {
  struct double_conn *c = calloc(1, sizeof *c);
  c->kind = k;
  snprintf(c->name, sizeof c->name, "%s", name);
  c->fd = -1;
  c->q = q ? q : dispatch_queue_create("xpc.connection", DISPATCH_QUEUE_SERIAL);
  if (q) dispatch_retain(q);
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->cond, NULL);
  c->next_id = 1;
  c->self = double_xpc_connection_object(c);
  return c;
}

/* Runs the handler with `ev` on the connection's queue (the event is retained until then). */
static void deliver(struct double_conn *c, xpc_object_t ev) {
  xpc_retain(ev);
  dispatch_async(c->q, ^{
    if (c->handler) c->handler(ev);
    xpc_release(ev);
  });
}

/* The last event of a connection: once, after which it is gone; waiting replies get `why`. */
static void end(struct double_conn *c, xpc_object_t why) {
  pthread_mutex_lock(&c->lock);
  bool first = !c->ended;
  c->ended = c->invalid = true;
  for (struct waiter *w = c->waiters; w; w = w->next) if (!w->reply) w->reply = why;
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->lock);
  if (first) deliver(c, c->kind == CLIENT && !c->cancelled ? why : XPC_ERROR_CONNECTION_INVALID);
}

static bool read_all(int fd, void *p, size_t n) {
  for (size_t got = 0; got < n;) {
    ssize_t r = read(fd, (char *)p + got, n - got);
    if (r <= 0 && !(r < 0 && errno == EINTR)) return false;
    if (r > 0) got += (size_t)r;
  }
  return true;
}

static void *reader_main(void *arg) {
  struct double_conn *c = arg;
  for (;;) {
    struct wire_head h;
    if (!read_all(c->fd, &h, sizeof h) || h.body > wire_max_body()) break;
    uint8_t *body = malloc(h.body ? h.body : 1);
    bool ok = read_all(c->fd, body, h.body);
    xpc_object_t msg = ok ? wire_decode_body(body, h.body) : NULL;
    free(body);
    if (!msg) break;
    if (h.reply_to) {
      pthread_mutex_lock(&c->lock);
      struct waiter *w = c->waiters;
      while (w && w->id != h.reply_to) w = w->next;
      if (w && !w->reply) { w->reply = msg; msg = NULL; pthread_cond_broadcast(&c->cond); }
      pthread_mutex_unlock(&c->lock);
      if (msg) xpc_release(msg); /* a reply nobody waits for */
      continue;
    }
    if (h.flags & WIRE_WANTS_REPLY) double_xpc_set_remote(msg, c, h.id);
    deliver(c, msg);
    xpc_release(msg);
  }
  end(c, XPC_ERROR_CONNECTION_INTERRUPTED);
  return NULL;
}

static void start_reader(struct double_conn *c) {
  pthread_t t;
  pthread_create(&t, NULL, reader_main, c);
  pthread_detach(t);
}

static bool service_path(const char *name, struct sockaddr_un *a) {
  const char *dir = getenv("VMLAN_DOUBLE_MACH_DIR");
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  return dir && *dir && snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", dir, name) < (int)sizeof a->sun_path;
}

static void *accept_main(void *arg) {
  struct double_conn *l = arg;
  for (;;) {
    int fd = accept(l->fd, NULL, NULL);
    if (fd < 0 && errno == EINTR) continue;
    if (fd < 0) break; /* cancelled: the socket was shut down */
    struct double_conn *p = new_conn(PEER, l->name, NULL);
    p->fd = fd;
    socklen_t len = sizeof p->peer;
    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &p->peer, &len);
    deliver(l, p->self); /* the listener's handler gets the new (suspended) connection */
  }
  return NULL;
}

/* A listener takes the name unless a live one holds it (launchd gives a name to one job). */
static bool listen_on(struct double_conn *l) {
  struct sockaddr_un a;
  if (!service_path(l->name, &a)) return false;
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool taken = connect(probe, (struct sockaddr *)&a, sizeof a) == 0;
  close(probe);
  if (taken) return false;
  unlink(a.sun_path);
  l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (bind(l->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(l->fd, 64) != 0) return false;
  chmod(a.sun_path, 0666); /* any process may look a Mach service up; the service checks its peers */
  pthread_t t;
  pthread_create(&t, NULL, accept_main, l);
  pthread_detach(t);
  return true;
}

xpc_connection_t xpc_connection_create_mach_service(const char *name, dispatch_queue_t q, uint64_t flags) {
  if (!name || !*name || strlen(name) > 80 || strchr(name, '/')) {
    double_violation("xpc_connection_create_mach_service: \"%s\" is not a Mach service name", name ? name : "(null)");
    name = "invalid";
  }
  if (flags & ~(uint64_t)(XPC_CONNECTION_MACH_SERVICE_LISTENER | XPC_CONNECTION_MACH_SERVICE_PRIVILEGED))
    double_violation("xpc_connection_create_mach_service: unknown flags 0x%llx", (unsigned long long)flags);
  return new_conn(flags & XPC_CONNECTION_MACH_SERVICE_LISTENER ? LISTENER : CLIENT, name, q)->self;
}

void xpc_connection_set_target_queue(xpc_connection_t conn, dispatch_queue_t q) {
  struct double_conn *c = double_xpc_conn(conn, __func__);
  if (!c || !q) return;
  if (c->resumes) { double_violation("%s: set the target queue before the first resume", __func__); return; }
  dispatch_retain(q);
  dispatch_release(c->q);
  c->q = q;
}

void xpc_connection_set_event_handler(xpc_connection_t conn, xpc_handler_t handler) {
  struct double_conn *c = double_xpc_conn(conn, __func__);
  if (!c) return;
  if (!handler) { double_violation("%s: NULL handler", __func__); return; }
  xpc_handler_t old = c->handler;
  c->handler = Block_copy(handler);
  if (old) Block_release(old);
}

void xpc_connection_resume(xpc_connection_t conn) {
  struct double_conn *c = double_xpc_conn(conn, __func__);
  if (!c) return;
  if (c->resumes++) { double_violation("%s: resumed more often than suspended (an error, xpc_connection_resume(3))", __func__); return; }
  if (!c->handler) double_violation("%s: no event handler set before the first resume", __func__);
  if (c->kind == LISTENER && !listen_on(c)) end(c, XPC_ERROR_CONNECTION_INVALID);
  if (c->kind == PEER) start_reader(c);
  if (c->kind == CLIENT) {
    struct sockaddr_un a;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (!service_path(c->name, &a) || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) return end(c, XPC_ERROR_CONNECTION_INVALID);
    socklen_t len = sizeof c->peer;
    getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &len);
    start_reader(c);
  }
}

void xpc_connection_cancel(xpc_connection_t conn) {
  struct double_conn *c = double_xpc_conn(conn, __func__);
  if (!c || c->cancelled) return;
  c->cancelled = true;
  if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
  struct sockaddr_un a;
  if (c->kind == LISTENER && service_path(c->name, &a)) unlink(a.sun_path);
  end(c, XPC_ERROR_CONNECTION_INVALID);
}

/* Writes one frame; false when the connection cannot carry it (already reported, or gone). */
static bool send_frame(struct double_conn *c, xpc_object_t msg, uint64_t id, uint64_t reply_to, uint8_t flags, const char *fn) {
  if (!c) return false;
  if (!double_xpc_is(msg, XPC_TYPE_DICTIONARY)) { double_violation("%s: a message must be a dictionary", fn); return false; }
  if (c->kind == LISTENER) { double_violation("%s: a listener carries no messages", fn); return false; }
  if (!c->resumes) { double_violation("%s: the connection was never resumed", fn); return false; }
  struct wbuf w = {0};
  bool ok = wire_frame(&w, msg, id, reply_to, flags);
  pthread_mutex_lock(&c->lock);
  ok = ok && !c->invalid && c->fd >= 0 && send(c->fd, w.p, w.len, MSG_NOSIGNAL) == (ssize_t)w.len;
  pthread_mutex_unlock(&c->lock);
  free(w.p);
  return ok;
}

void xpc_connection_send_message(xpc_connection_t conn, xpc_object_t msg) {
  struct double_conn *c = double_xpc_conn(conn, __func__), *to = NULL;
  uint64_t reply_to = 0;
  if (double_xpc_is(msg, XPC_TYPE_DICTIONARY) && double_xpc_reply_target(msg, &to, &reply_to) && to != c) {
    double_violation("%s: a reply must go back on the connection its message came from", __func__);
    return;
  }
  send_frame(c, msg, 0, reply_to, 0, __func__); /* to a connection that is gone: dropped, as in libxpc */
}

xpc_object_t xpc_connection_send_message_with_reply_sync(xpc_connection_t conn, xpc_object_t msg) {
  struct double_conn *c = double_xpc_conn(conn, __func__);
  if (!c) return XPC_ERROR_CONNECTION_INVALID;
  pthread_mutex_lock(&c->lock);
  struct waiter w = {c->next_id++, NULL, c->waiters};
  c->waiters = &w;
  pthread_mutex_unlock(&c->lock);
  if (!send_frame(c, msg, w.id, 0, WIRE_WANTS_REPLY, __func__)) {
    pthread_mutex_lock(&c->lock);
    if (!w.reply) w.reply = c->resumes && c->fd >= 0 && c->kind == CLIENT ? XPC_ERROR_CONNECTION_INTERRUPTED : XPC_ERROR_CONNECTION_INVALID;
    pthread_mutex_unlock(&c->lock);
  }
  pthread_mutex_lock(&c->lock);
  while (!w.reply) pthread_cond_wait(&c->cond, &c->lock);
  for (struct waiter **pp = &c->waiters; *pp; pp = &(*pp)->next)
    if (*pp == &w) { *pp = w.next; break; }
  pthread_mutex_unlock(&c->lock);
  return w.reply; /* the caller's reference (an error object's never runs out) */
}

pid_t xpc_connection_get_pid(xpc_connection_t conn) { struct double_conn *c = double_xpc_conn(conn, __func__); return c ? c->peer.pid : 0; }
uid_t xpc_connection_get_euid(xpc_connection_t conn) { struct double_conn *c = double_xpc_conn(conn, __func__); return c ? c->peer.uid : (uid_t)-1; }
gid_t xpc_connection_get_egid(xpc_connection_t conn) { struct double_conn *c = double_xpc_conn(conn, __func__); return c ? c->peer.gid : (gid_t)-1; }
