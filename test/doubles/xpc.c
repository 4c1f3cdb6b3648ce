/*
 * A minimal libxpc stand-in: reference-counted boxed values, dictionaries that keep insertion order,
 * arrays. Same names and semantics as <xpc/xpc.h> for what vmlan and vmnet use (xpc_objects(3),
 * xpc_dictionary_*(3)): getters return 0/NULL/false for a missing key or a wrong type, setters replace.
 * A type mismatch that Apple leaves undefined (e.g. xpc_string_get_string_ptr on a uint64) is a violation.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <Block.h>
#include "xobj.h"

const struct _xpc_type_s _xpc_type_dictionary = {"dictionary"}, _xpc_type_array = {"array"},
    _xpc_type_string = {"string"}, _xpc_type_uint64 = {"uint64"}, _xpc_type_int64 = {"int64"},
    _xpc_type_bool = {"bool"}, _xpc_type_uuid = {"uuid"}, _xpc_type_data = {"data"},
    _xpc_type_double = {"double"}, _xpc_type_mach_send = {"mach_send"}, _xpc_type_connection = {"connection"},
    _xpc_type_error = {"error"};

struct xobj *xobj_check(xpc_object_t o, xpc_type_t t, const char *fn) {
  struct xobj *x = o;
  if (!x || x->magic != MAGIC_XPC || x->refs <= 0) {
    double_violation("%s: not a live XPC object (%p)", fn, o);
    return NULL;
  }
  if (t && x->type != t) {
    double_violation("%s: XPC object is a %s, expected a %s", fn, x->type->name, t->name);
    return NULL;
  }
  return x;
}

bool double_xpc_is(xpc_object_t o, xpc_type_t t) {
  struct xobj *x = o;
  return x && x->magic == MAGIC_XPC && x->refs > 0 && x->type == t;
}

struct xobj *xobj_make(xpc_type_t t) {
  struct xobj *x = calloc(1, sizeof *x);
  x->magic = MAGIC_XPC;
  x->refs = 1;
  x->type = t;
  xobj_live_add(x);
  return x;
}

xpc_object_t xpc_retain(xpc_object_t o) {
  struct xobj *x = xobj_check(o, NULL, "xpc_retain");
  if (x) __atomic_add_fetch(&x->refs, 1, __ATOMIC_SEQ_CST);
  return o;
}

void xpc_release(xpc_object_t o) {
  struct xobj *x = xobj_check(o, NULL, "xpc_release");
  if (!x || __atomic_sub_fetch(&x->refs, 1, __ATOMIC_SEQ_CST) > 0) return;
  if (x->type == XPC_TYPE_CONNECTION) { x->refs = 1; return; } /* connections stay until the process ends */
  if (x->type == XPC_TYPE_DICTIONARY) {
    for (struct entry *e = x->v.dict.head, *n; e; e = n) {
      n = e->next;
      xpc_release(e->value);
      free(e->key);
      free(e);
    }
  } else if (x->type == XPC_TYPE_ARRAY) {
    for (size_t i = 0; i < x->v.array.count; i++) xpc_release(x->v.array.items[i]);
    free(x->v.array.items);
  } else if (x->type == XPC_TYPE_STRING || x->type == XPC_TYPE_DATA) {
    free(x->v.data.bytes);
  }
  x->magic = 0; /* a later use is reported, not silently accepted */
  xobj_live_del(x);
  free(x);
}

xpc_type_t xpc_get_type(xpc_object_t o) {
  struct xobj *x = xobj_check(o, NULL, "xpc_get_type");
  return x ? x->type : NULL;
}

/* ---- boxed values */
static struct xobj *bytes_obj(xpc_type_t t, const void *p, size_t len, size_t extra) {
  struct xobj *x = xobj_make(t);
  x->v.data.bytes = calloc(1, len + extra);
  if (len) memcpy(x->v.data.bytes, p, len);
  x->v.data.len = len;
  return x;
}
xpc_object_t xpc_string_create(const char *s) {
  if (!s) { double_violation("xpc_string_create: NULL string"); s = ""; }
  return bytes_obj(XPC_TYPE_STRING, s, strlen(s), 1);
}
const char *xpc_string_get_string_ptr(xpc_object_t o) {
  struct xobj *x = xobj_check(o, XPC_TYPE_STRING, "xpc_string_get_string_ptr");
  return x ? x->v.data.bytes : NULL;
}
xpc_object_t xpc_data_create(const void *p, size_t len) { return bytes_obj(XPC_TYPE_DATA, p, len, 0); }
const void *xpc_data_get_bytes_ptr(xpc_object_t o) {
  struct xobj *x = xobj_check(o, XPC_TYPE_DATA, "xpc_data_get_bytes_ptr");
  return x ? x->v.data.bytes : NULL;
}
size_t xpc_data_get_length(xpc_object_t o) {
  struct xobj *x = xobj_check(o, XPC_TYPE_DATA, "xpc_data_get_length");
  return x ? x->v.data.len : 0;
}
#define BOXED(name, T, field, ctype)                                         \
  xpc_object_t xpc_##name##_create(ctype value) {                            \
    struct xobj *x = xobj_make(T);                                                \
    x->v.field = value;                                                      \
    return x;                                                                \
  }                                                                          \
  ctype xpc_##name##_get_value(xpc_object_t o) {                             \
    struct xobj *x = xobj_check(o, T, "xpc_" #name "_get_value");                 \
    return x ? x->v.field : (ctype)0;                                        \
  }
BOXED(uint64, XPC_TYPE_UINT64, u64, uint64_t)
BOXED(int64, XPC_TYPE_INT64, i64, int64_t)
BOXED(bool, XPC_TYPE_BOOL, b, bool)
BOXED(double, XPC_TYPE_DOUBLE, dbl, double)
xpc_object_t xpc_uuid_create(const uuid_t uuid) {
  struct xobj *x = xobj_make(XPC_TYPE_UUID);
  memcpy(x->v.uuid, uuid, 16);
  return x;
}
const uint8_t *xpc_uuid_get_bytes(xpc_object_t o) {
  struct xobj *x = xobj_check(o, XPC_TYPE_UUID, "xpc_uuid_get_bytes");
  return x ? x->v.uuid : NULL;
}
/* Double-only: an object that stands for a Mach send right (not plain data). */
xpc_object_t vmnet_double_mach_send_create(void) { return xobj_make(XPC_TYPE_MACH_SEND); }

/* ---- dictionaries */
static struct entry *find(struct xobj *d, const char *key) {
  for (struct entry *e = d->v.dict.head; e; e = e->next)
    if (strcmp(e->key, key) == 0) return e;
  return NULL;
}

xpc_object_t xpc_dictionary_create(const char *const *keys, const xpc_object_t *values, size_t count) {
  struct xobj *d = xobj_make(XPC_TYPE_DICTIONARY);
  for (size_t i = 0; i < count; i++) xpc_dictionary_set_value(d, keys[i], values[i]);
  return d;
}

void xpc_dictionary_set_value(xpc_object_t dict, const char *key, xpc_object_t value) {
  struct xobj *d = xobj_check(dict, XPC_TYPE_DICTIONARY, "xpc_dictionary_set_value");
  if (!d) return;
  if (!key) { double_violation("xpc_dictionary_set_value: NULL key"); return; }
  struct entry *e = find(d, key);
  if (value && !xobj_check(value, NULL, "xpc_dictionary_set_value")) return;
  if (value) xpc_retain(value);
  if (e) {
    xpc_release(e->value);
    if (value) { e->value = value; return; }
    struct entry **pp = &d->v.dict.head; /* NULL removes the key, as in libxpc */
    struct entry *prev = NULL;
    while (*pp != e) { prev = *pp; pp = &(*pp)->next; }
    *pp = e->next;
    if (d->v.dict.tail == e) d->v.dict.tail = prev;
    free(e->key);
    free(e);
    d->v.dict.count--;
    return;
  }
  if (!value) return;
  e = calloc(1, sizeof *e);
  e->key = strdup(key);
  e->value = value;
  if (d->v.dict.tail) d->v.dict.tail->next = e; else d->v.dict.head = e;
  d->v.dict.tail = e;
  d->v.dict.count++;
}

#define SETTER(suffix, ctype, ctor)                                                  \
  void xpc_dictionary_set_##suffix(xpc_object_t dict, const char *key, ctype value) { \
    xpc_object_t v = ctor(value);                                                    \
    xpc_dictionary_set_value(dict, key, v);                                          \
    xpc_release(v);                                                                  \
  }
SETTER(uint64, uint64_t, xpc_uint64_create)
SETTER(int64, int64_t, xpc_int64_create)
SETTER(string, const char *, xpc_string_create)
SETTER(bool, bool, xpc_bool_create)
SETTER(uuid, const uint8_t *, xpc_uuid_create)

xpc_object_t xpc_dictionary_get_value(xpc_object_t dict, const char *key) {
  struct xobj *d = xobj_check(dict, double_xpc_is(dict, XPC_TYPE_ERROR) ? XPC_TYPE_ERROR : XPC_TYPE_DICTIONARY, "xpc_dictionary_get_value");
  struct entry *e = d && key ? find(d, key) : NULL;
  return e ? e->value : NULL;
}
#define GETTER(suffix, ctype, T, field, dflt)                                 \
  ctype xpc_dictionary_get_##suffix(xpc_object_t dict, const char *key) {     \
    struct xobj *v = xpc_dictionary_get_value(dict, key);                     \
    return v && v->type == T ? (ctype)v->v.field : dflt;                      \
  }
GETTER(uint64, uint64_t, XPC_TYPE_UINT64, u64, 0)
GETTER(int64, int64_t, XPC_TYPE_INT64, i64, 0)
GETTER(bool, bool, XPC_TYPE_BOOL, b, false)
GETTER(string, const char *, XPC_TYPE_STRING, data.bytes, NULL)
GETTER(uuid, const uint8_t *, XPC_TYPE_UUID, uuid, NULL)

size_t xpc_dictionary_get_count(xpc_object_t dict) {
  struct xobj *d = xobj_check(dict, XPC_TYPE_DICTIONARY, "xpc_dictionary_get_count");
  return d ? d->v.dict.count : 0;
}

bool xpc_dictionary_apply(xpc_object_t dict, xpc_dictionary_applier_t applier) {
  struct xobj *d = xobj_check(dict, XPC_TYPE_DICTIONARY, "xpc_dictionary_apply");
  if (!d) return false;
  if (!applier) { double_violation("xpc_dictionary_apply: NULL applier block"); return false; }
  for (struct entry *e = d->v.dict.head; e; e = e->next)
    if (!applier(e->key, e->value)) return false;
  return true;
}

/* ---- arrays */
xpc_object_t xpc_array_create(const xpc_object_t *objects, size_t count) {
  struct xobj *a = xobj_make(XPC_TYPE_ARRAY);
  for (size_t i = 0; i < count; i++) xpc_array_append_value(a, objects[i]);
  return a;
}
void xpc_array_append_value(xpc_object_t array, xpc_object_t value) {
  struct xobj *a = xobj_check(array, XPC_TYPE_ARRAY, "xpc_array_append_value");
  if (!a || !xobj_check(value, NULL, "xpc_array_append_value")) return;
  if (a->v.array.count == a->v.array.cap) {
    a->v.array.cap = a->v.array.cap ? a->v.array.cap * 2 : 4;
    a->v.array.items = realloc(a->v.array.items, a->v.array.cap * sizeof(struct xobj *));
  }
  a->v.array.items[a->v.array.count++] = xpc_retain(value);
}
size_t xpc_array_get_count(xpc_object_t array) {
  struct xobj *a = xobj_check(array, XPC_TYPE_ARRAY, "xpc_array_get_count");
  return a ? a->v.array.count : 0;
}
bool xpc_array_apply(xpc_object_t array, xpc_array_applier_t applier) {
  struct xobj *a = xobj_check(array, XPC_TYPE_ARRAY, "xpc_array_apply");
  if (!a || !applier) return false;
  for (size_t i = 0; i < a->v.array.count; i++)
    if (!applier(i, a->v.array.items[i])) return false;
  return true;
}
