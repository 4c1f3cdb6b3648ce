/*
 * The broker's XPC Mach service for bun:ffi (src/ipc/xpc-listener.ts): the listeners, their peer
 * connections and every XPC block live here; JS sees requests and connection events as one JSON line
 * each, signalled by a byte on a pipe (the event pump's pattern: no JS ever runs on an XPC queue),
 * and answers with plain calls. The protocol is vmnet-broker's (docs/protocol.md there): a request
 * dictionary with `command` and `network_name`, a reply with `network` (the serialization from
 * vmnet_network_copy_serialization) or `error` (int64); vmlan adds `vmlan_message` (a string) to
 * errors, which vmnet-broker's clients ignore. One serial queue for everything, as vmnet-broker does.
 */
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmnet-shim.h"

/* Connections at once (more are cancelled at once), and events JS has not taken yet. */
#define MAX_PEERS 256
#define MAX_EVENTS 1024
#define MAX_KEYS 16
#define MAX_STRING 255
#define EVENT_CAP 4096

struct event { char *json; struct event *next; };
struct peer { uint64_t id; xpc_connection_t c; struct peer *next; };
struct pending { uint64_t msg, conn; xpc_object_t event; struct pending *next; };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static dispatch_queue_t queue;
static int pipe_r = -1, pipe_w = -1;
static struct event *head, *tail;
static size_t queued, npeers;
static struct peer *peers;
static struct pending *pendings;
static uint64_t next_conn = 1, next_msg = 1;

/* Takes `lock`. Queues one JSON line for JS (dropped past MAX_EVENTS: JS is stuck or flooded). */
static void push(struct out *o) {
  pthread_mutex_lock(&lock);
  if (queued < MAX_EVENTS && o->len < o->cap) {
    struct event *e = calloc(1, sizeof *e);
    e->json = strdup(o->buf);
    if (tail) tail->next = e; else head = e;
    tail = e;
    queued++;
    char b = 1;
    ssize_t n = write(pipe_w, &b, 1);
    (void)n;
  }
  pthread_mutex_unlock(&lock);
}

static void json_num(struct out *o, const char *key, long long v) {
  char n[32];
  snprintf(n, sizeof n, "%lld", v);
  json_key(o, key);
  json_put(o, n);
}

/* The peer's groups from the user database (getgrouplist(3)); the audit token only has its egid. */
static void json_groups(struct out *o, uid_t uid, gid_t gid) {
  struct passwd pw, *r = NULL;
  char buf[4096];
  int groups[64], n = 64;
  json_key(o, "groups");
  json_put(o, "[");
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &r) == 0 && r && getgrouplist(pw.pw_name, (int)gid, (void *)groups, &n) >= 0) {
    char g[16];
    for (int i = 0; i < n; i++) snprintf(g, sizeof g, "%s%d", i ? "," : "", groups[i]), json_put(o, g);
  }
  json_put(o, "]");
}

/* A request's plain members; anything else (nested, data, too many, too long) marks it invalid. */
static void json_request(struct out *o, xpc_object_t msg) {
  __block int keys = 0;
  __block bool bad = false;
  json_key(o, "request");
  json_put(o, "{");
  xpc_dictionary_apply(msg, ^bool(const char *key, xpc_object_t v) {
    xpc_type_t t = xpc_get_type(v);
    bool str = t == XPC_TYPE_STRING && strlen(xpc_string_get_string_ptr(v)) <= MAX_STRING;
    bool num = t == XPC_TYPE_INT64 || (t == XPC_TYPE_UINT64 && xpc_uint64_get_value(v) < (1ull << 53));
    if (++keys > MAX_KEYS || strlen(key) > MAX_STRING || !(str || num || t == XPC_TYPE_BOOL)) return !(bad = true);
    char n[32];
    json_put(o, keys > 1 ? "," : "");
    json_string(o, key);
    json_put(o, ":");
    if (str) return json_string(o, xpc_string_get_string_ptr(v)), true;
    if (t == XPC_TYPE_BOOL) return json_put(o, xpc_bool_get_value(v) ? "true" : "false"), true;
    snprintf(n, sizeof n, "%lld", t == XPC_TYPE_INT64 ? (long long)xpc_int64_get_value(v) : (long long)xpc_uint64_get_value(v));
    json_put(o, n);
    return true;
  });
  json_put(o, "}");
  json_key(o, "invalid");
  json_put(o, bad ? "true" : "false");
}

static void on_peer_event(uint64_t id, xpc_connection_t c, xpc_object_t ev) {
  char buf[EVENT_CAP];
  struct out o = {buf, sizeof buf, 0};
  if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY) {
    pthread_mutex_lock(&lock);
    bool full = queued >= MAX_EVENTS;
    uint64_t m = next_msg++;
    if (!full) {
      struct pending *p = calloc(1, sizeof *p);
      *p = (struct pending){m, id, xpc_retain(ev), pendings};
      pendings = p;
    }
    pthread_mutex_unlock(&lock);
    if (full) { /* answered here: vmnet-broker's INTERNAL_ERROR */
      xpc_object_t r = xpc_dictionary_create_reply(ev);
      if (r) xpc_dictionary_set_int64(r, "error", 7), xpc_connection_send_message(c, r), xpc_release(r);
      return;
    }
    json_put(&o, "{\"event\":\"request\"");
    json_num(&o, "conn", (long long)id);
    json_num(&o, "msg", (long long)m);
    json_request(&o, ev);
    json_put(&o, "}");
    return push(&o);
  }
  if (ev != XPC_ERROR_CONNECTION_INVALID) return; /* interruptions do not end a peer connection */
  pthread_mutex_lock(&lock);
  for (struct peer **pp = &peers; *pp; pp = &(*pp)->next)
    if ((*pp)->id == id) { struct peer *p = *pp; *pp = p->next; xpc_release(p->c); free(p); npeers--; break; }
  for (struct pending **pp = &pendings; *pp;) {
    struct pending *p = *pp;
    if (p->conn != id) { pp = &p->next; continue; }
    *pp = p->next;
    xpc_release(p->event);
    free(p);
  }
  pthread_mutex_unlock(&lock);
  json_put(&o, "{\"event\":\"disconnect\"");
  json_num(&o, "conn", (long long)id);
  json_put(&o, "}");
  push(&o);
}

static void on_listener_event(const char *service, xpc_object_t ev) {
  char buf[EVENT_CAP];
  struct out o = {buf, sizeof buf, 0};
  if (xpc_get_type(ev) != XPC_TYPE_CONNECTION) {
    const char *why = xpc_get_type(ev) == XPC_TYPE_ERROR ? xpc_dictionary_get_string(ev, XPC_ERROR_KEY_DESCRIPTION) : NULL;
    json_put(&o, "{\"event\":\"listener-error\"");
    json_key(&o, "service"), json_string(&o, service);
    json_key(&o, "description"), json_string(&o, why ? why : "unexpected event");
    json_put(&o, "}");
    return push(&o);
  }
  xpc_connection_t c = (xpc_connection_t)ev;
  pthread_mutex_lock(&lock);
  bool full = npeers >= MAX_PEERS;
  uint64_t id = next_conn++;
  if (!full) {
    struct peer *p = calloc(1, sizeof *p);
    *p = (struct peer){id, xpc_retain(c), peers};
    peers = p;
    npeers++;
  }
  pthread_mutex_unlock(&lock);
  xpc_connection_set_target_queue(c, queue);
  xpc_connection_set_event_handler(c, ^(xpc_object_t e) { if (!full) on_peer_event(id, c, e); });
  xpc_connection_resume(c);
  if (full) return xpc_connection_cancel(c);
  json_put(&o, "{\"event\":\"connect\"");
  json_num(&o, "conn", (long long)id);
  json_key(&o, "service"), json_string(&o, service);
  json_num(&o, "pid", xpc_connection_get_pid(c));
  json_num(&o, "uid", xpc_connection_get_euid(c));
  json_num(&o, "gid", xpc_connection_get_egid(c));
  json_groups(&o, xpc_connection_get_euid(c), xpc_connection_get_egid(c));
  json_put(&o, "}");
  push(&o);
}

/* Listens on a Mach service (launchd must advertise it: else a listener-error event). 0, or -1. */
EXPORT int32_t vmlan_xpc_listen(const char *service) {
  if (!service || strlen(service) > 128) return -1;
  if (!queue) {
    int p[2];
    if (pipe(p) != 0) return -1;
    for (int i = 0; i < 2; i++) fcntl(p[i], F_SETFL, O_NONBLOCK), fcntl(p[i], F_SETFD, FD_CLOEXEC);
    pipe_r = p[0], pipe_w = p[1];
    queue = dispatch_queue_create("io.vmlan.broker.xpc", DISPATCH_QUEUE_SERIAL);
  }
  char *name = strdup(service);
  xpc_connection_t l = xpc_connection_create_mach_service(name, queue, XPC_CONNECTION_MACH_SERVICE_LISTENER);
  xpc_connection_set_event_handler(l, ^(xpc_object_t ev) { on_listener_event(name, ev); });
  xpc_connection_resume(l);
  return 0;
}

/* The pipe's read end: readable while events wait. -1 before vmlan_xpc_listen. */
EXPORT int32_t vmlan_xpc_events(void) { return pipe_r; }

/* The oldest event as JSON: its length, 0 when none, -needed when cap is too small (it stays). */
EXPORT int32_t vmlan_xpc_next(char *buf, size_t cap) {
  char drain[64];
  pthread_mutex_lock(&lock);
  struct event *e = head;
  int32_t n = e ? (int32_t)strlen(e->json) : 0;
  if (e && (size_t)n >= cap) { pthread_mutex_unlock(&lock); return -(n + 1); }
  if (e) {
    memcpy(buf, e->json, (size_t)n + 1);
    head = e->next;
    if (!head) tail = NULL;
    queued--;
    free(e->json);
    free(e);
  }
  if (!head) while (read(pipe_r, drain, sizeof drain) > 0) { /* empty: the next push wakes poll() */ }
  pthread_mutex_unlock(&lock);
  return n;
}

/* Takes the request `msg` out of the table: its reply dictionary and its connection, or NULL. */
static xpc_object_t take_reply(uint64_t msg, xpc_connection_t *to) {
  xpc_object_t reply = NULL;
  pthread_mutex_lock(&lock);
  for (struct pending **pp = &pendings; *pp; pp = &(*pp)->next) {
    struct pending *p = *pp;
    if (p->msg != msg) continue;
    *pp = p->next;
    for (struct peer *q = peers; q; q = q->next) if (q->id == p->conn) *to = q->c;
    if (*to) xpc_retain(*to), reply = xpc_dictionary_create_reply(p->event);
    xpc_release(p->event);
    free(p);
    break;
  }
  pthread_mutex_unlock(&lock);
  return reply;
}

static int32_t send_reply(xpc_connection_t to, xpc_object_t reply) {
  if (!reply) { if (to) xpc_release(to); return -1; }
  xpc_connection_send_message(to, reply);
  xpc_release(reply);
  xpc_release(to);
  return 0;
}

/* Answers `msg` with the network's serialization. 0; -1 when the peer is gone or vmnet refused (*status). */
EXPORT int32_t vmlan_xpc_reply_network(uint64_t msg, void *net, uint32_t *status) {
  xpc_connection_t to = NULL;
  xpc_object_t reply = take_reply(msg, &to), ser = NULL;
  vmnet_return_t st = VMLAN_UNSUPPORTED_SDK;
#if VMLAN_HAVE_NETWORK_API
  if (reply) {
    if (__builtin_available(macOS 26.0, *)) ser = vmnet_network_copy_serialization(net, &st);
  }
#else
  (void)net;
#endif
  if (status) *status = reply ? st : VMNET_SUCCESS;
  if (reply && !ser) xpc_dictionary_set_int64(reply, "error", 6); /* vmnet-broker's CREATE_FAILURE */
  if (ser) xpc_dictionary_set_value(reply, "network", ser), xpc_release(ser);
  return send_reply(to, reply) == 0 && ser ? 0 : -1;
}

/* Answers `msg` with vmnet-broker's error `code` and vmlan's text. 0, or -1 when the peer is gone. */
EXPORT int32_t vmlan_xpc_reply_error(uint64_t msg, int64_t code, const char *message) {
  xpc_connection_t to = NULL;
  xpc_object_t reply = take_reply(msg, &to);
  if (reply) xpc_dictionary_set_int64(reply, "error", code), xpc_dictionary_set_string(reply, "vmlan_message", message ? message : "");
  return send_reply(to, reply);
}

/* Ends a peer connection (a refused peer); its disconnect event follows. */
EXPORT void vmlan_xpc_close(uint64_t conn) {
  xpc_connection_t c = NULL;
  pthread_mutex_lock(&lock);
  for (struct peer *p = peers; p; p = p->next) if (p->id == conn) c = xpc_retain(p->c);
  pthread_mutex_unlock(&lock);
  if (c) xpc_connection_cancel(c), xpc_release(c);
}
