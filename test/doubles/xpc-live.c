/*
 * What the double's XPC needs beyond plain values: which objects are live (so it can tell a caller
 * released something vmnet may still read, without touching freed memory), the error objects
 * connections deliver, and the reply context of a received message (xpc_dictionary_create_reply).
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "xobj.h"

/*
 * Every live object's address, so the double can tell whether a caller still holds an object
 * without touching memory it may have freed (vmnet reading interface_desc after the start call).
 */
#define LIVE_BUCKETS 1024
static struct live { const void *p; struct live *next; } *live[LIVE_BUCKETS];
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t bucket(const void *p) { return ((uintptr_t)p >> 4) % LIVE_BUCKETS; }
void xobj_live_add(const void *p) {
  struct live *l = malloc(sizeof *l);
  pthread_mutex_lock(&live_lock);
  *l = (struct live){p, live[bucket(p)]};
  live[bucket(p)] = l;
  pthread_mutex_unlock(&live_lock);
}
void xobj_live_del(const void *p) {
  pthread_mutex_lock(&live_lock);
  for (struct live **pp = &live[bucket(p)]; *pp; pp = &(*pp)->next)
    if ((*pp)->p == p) { struct live *l = *pp; *pp = l->next; free(l); break; }
  pthread_mutex_unlock(&live_lock);
}
bool double_xpc_live(const void *p) {
  bool found = false;
  pthread_mutex_lock(&live_lock);
  for (struct live *l = live[bucket(p)]; l && !found; l = l->next) found = l->p == p;
  pthread_mutex_unlock(&live_lock);
  return found;
}


/* Error objects are static dictionaries of type error; their references never run out. */
struct _xpc_error_s { struct xobj x; };
#define ERROR_OBJECT(var, text)                                                                                 \
  static struct xobj var##_desc = {MAGIC_XPC, INT_MAX / 2, XPC_TYPE_STRING, NULL, 0, NULL, 0, {.data = {(void *)text, sizeof text - 1}}}; \
  static struct entry var##_entry = {(char *)XPC_ERROR_KEY_DESCRIPTION, &var##_desc, NULL};                    \
  struct _xpc_error_s var = {{MAGIC_XPC, INT_MAX / 2, XPC_TYPE_ERROR, NULL, 0, NULL, 0, {.dict = {&var##_entry, &var##_entry, 1}}}};
ERROR_OBJECT(_xpc_error_connection_invalid, "Connection invalid")
ERROR_OBJECT(_xpc_error_connection_interrupted, "Connection interrupted")
ERROR_OBJECT(_xpc_error_termination_imminent, "Termination imminent")

xpc_object_t xpc_dictionary_create_empty(void) { return xpc_dictionary_create(NULL, NULL, 0); }

/* Apple: NULL when the message carries no reply context (it was not sent expecting a reply). */
xpc_object_t xpc_dictionary_create_reply(xpc_object_t original) {
  struct xobj *m = xobj_check(original, XPC_TYPE_DICTIONARY, "xpc_dictionary_create_reply");
  if (!m || !m->remote || !m->remote_id) return NULL;
  struct xobj *r = xpc_dictionary_create_empty();
  r->reply_conn = m->remote;
  r->reply_to = m->remote_id;
  return r;
}

void double_xpc_set_remote(xpc_object_t message, struct double_conn *c, uint64_t id) {
  struct xobj *m = message;
  m->remote = c;
  m->remote_id = id;
}

bool double_xpc_reply_target(xpc_object_t message, struct double_conn **c, uint64_t *id) {
  struct xobj *m = message;
  *c = m->reply_conn;
  *id = m->reply_to;
  return m->reply_conn != NULL;
}

xpc_object_t double_xpc_connection_object(struct double_conn *c) {
  struct xobj *x = xobj_make(XPC_TYPE_CONNECTION);
  x->v.conn = c;
  return x;
}

struct double_conn *double_xpc_conn(xpc_object_t o, const char *fn) {
  struct xobj *x = xobj_check(o, XPC_TYPE_CONNECTION, fn);
  return x ? x->v.conn : NULL;
}
