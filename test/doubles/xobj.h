/*
 * The double's XPC object, shared by xpc.c (values, dictionaries, arrays) and xpc-live.c (the live-object
 * registry, error objects, connection objects, reply contexts). Not part of any ABI.
 */
#ifndef VMNET_DOUBLE_XOBJ_H
#define VMNET_DOUBLE_XOBJ_H

#include "double.h"

struct _xpc_type_s { const char *name; };

struct entry { char *key; struct xobj *value; struct entry *next; };
struct double_conn;
struct xobj {
  uint32_t magic;
  int refs;
  xpc_type_t type;
  /* A message received on a connection: where its reply goes (xpc_dictionary_create_reply). */
  struct double_conn *remote;
  uint64_t remote_id;
  /* A reply being built: the connection and message it answers. */
  struct double_conn *reply_conn;
  uint64_t reply_to;
  union {
    struct { struct entry *head, *tail; size_t count; } dict;
    struct { struct xobj **items; size_t count, cap; } array;
    struct { void *bytes; size_t len; } data; /* string (NUL-terminated), data */
    uint64_t u64;
    int64_t i64;
    double dbl;
    bool b;
    uint8_t uuid[16];
    struct double_conn *conn; /* XPC_TYPE_CONNECTION */
  } v;
};

/* A live object of type t (any type when NULL), else a reported violation and NULL. */
struct xobj *xobj_check(xpc_object_t o, xpc_type_t t, const char *fn);
/* A new object with one reference, recorded as live. */
struct xobj *xobj_make(xpc_type_t t);
void xobj_live_add(const void *p);
void xobj_live_del(const void *p);

#endif
