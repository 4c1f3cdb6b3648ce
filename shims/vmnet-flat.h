/*
 * A flat byte form of a plain-data XPC object, so a vmnet network serialization can be stored in
 * SQLite or sent over a unix socket IF it holds only plain data (see docs/macos.md: Apple documents
 * the serialization as an opaque xpc_object_t; whether it carries Mach rights is not documented).
 * Anything that is not plain data (Mach ports, fds, shared memory, connections, endpoints) makes
 * encoding fail with VMLAN_FLAT_NOT_PLAIN, so the caller falls back to passing the object over XPC.
 *
 * Format (host byte order; producer and consumer are the same binary on the same machine):
 *   "VMLX" u8(version=1) value
 *   value := 'd' u32 n (u32 klen, key bytes, value)*n | 'a' u32 n value*n | 's' u32 len bytes
 *          | 'D' u32 len bytes | 'u' u64 | 'i' i64 | 'f' f64 | 'b' u8 | 'U' 16 bytes
 * Included once, by vmnet-trampolines.c (static functions, one translation unit).
 */
#ifndef VMLAN_VMNET_FLAT_H
#define VMLAN_VMNET_FLAT_H

#include <string.h>

#define VMLAN_FLAT_NOT_PLAIN (-2)
#define VMLAN_FLAT_TOO_SMALL (-3)
#define VMLAN_FLAT_MAX_DEPTH 32

struct flat_w { uint8_t *buf; size_t cap, len; int err; };
struct flat_r { const uint8_t *p; size_t len, off; int bad; };

static void flat_put(struct flat_w *w, const void *p, size_t n) {
  if (w->len + n <= w->cap) memcpy(w->buf + w->len, p, n);
  else if (!w->err) w->err = VMLAN_FLAT_TOO_SMALL;
  w->len += n;
}
static void flat_u8(struct flat_w *w, uint8_t v) { flat_put(w, &v, 1); }
static void flat_u32(struct flat_w *w, size_t v) { uint32_t x = (uint32_t)v; flat_put(w, &x, 4); }

static void flat_encode(struct flat_w *w, xpc_object_t o, int depth) {
  xpc_type_t t = xpc_get_type(o);
  if (depth > VMLAN_FLAT_MAX_DEPTH) { w->err = VMLAN_FLAT_NOT_PLAIN; return; }
  if (t == XPC_TYPE_DICTIONARY) {
    flat_u8(w, 'd');
    flat_u32(w, xpc_dictionary_get_count(o));
    xpc_dictionary_apply(o, ^bool(const char *key, xpc_object_t value) {
      flat_u32(w, strlen(key));
      flat_put(w, key, strlen(key));
      flat_encode(w, value, depth + 1);
      return w->err != VMLAN_FLAT_NOT_PLAIN;
    });
  } else if (t == XPC_TYPE_ARRAY) {
    flat_u8(w, 'a');
    flat_u32(w, xpc_array_get_count(o));
    xpc_array_apply(o, ^bool(size_t i, xpc_object_t value) {
      (void)i;
      flat_encode(w, value, depth + 1);
      return w->err != VMLAN_FLAT_NOT_PLAIN;
    });
  } else if (t == XPC_TYPE_STRING) {
    const char *s = xpc_string_get_string_ptr(o);
    flat_u8(w, 's');
    flat_u32(w, strlen(s));
    flat_put(w, s, strlen(s));
  } else if (t == XPC_TYPE_DATA) {
    flat_u8(w, 'D');
    flat_u32(w, xpc_data_get_length(o));
    flat_put(w, xpc_data_get_bytes_ptr(o), xpc_data_get_length(o));
  } else if (t == XPC_TYPE_UINT64) {
    uint64_t v = xpc_uint64_get_value(o);
    flat_u8(w, 'u');
    flat_put(w, &v, 8);
  } else if (t == XPC_TYPE_INT64) {
    int64_t v = xpc_int64_get_value(o);
    flat_u8(w, 'i');
    flat_put(w, &v, 8);
  } else if (t == XPC_TYPE_DOUBLE) {
    double v = xpc_double_get_value(o);
    flat_u8(w, 'f');
    flat_put(w, &v, 8);
  } else if (t == XPC_TYPE_BOOL) {
    flat_u8(w, 'b');
    flat_u8(w, xpc_bool_get_value(o) ? 1 : 0);
  } else if (t == XPC_TYPE_UUID) {
    flat_u8(w, 'U');
    flat_put(w, xpc_uuid_get_bytes(o), 16);
  } else {
    w->err = VMLAN_FLAT_NOT_PLAIN; /* mach_send, fd, shmem, endpoint, connection, ... */
  }
}

static const uint8_t *flat_take(struct flat_r *r, size_t n) {
  if (r->bad || n > r->len - r->off) { r->bad = 1; return NULL; }
  const uint8_t *p = r->p + r->off;
  r->off += n;
  return p;
}
static uint32_t flat_get_u32(struct flat_r *r) {
  uint32_t v = 0;
  const uint8_t *p = flat_take(r, 4);
  if (p) memcpy(&v, p, 4);
  return v;
}

/* Returns a new object (caller releases) or NULL with r->bad set. */
static xpc_object_t flat_decode(struct flat_r *r, int depth) {
  const uint8_t *tag = flat_take(r, 1);
  if (!tag || depth > VMLAN_FLAT_MAX_DEPTH) { r->bad = 1; return NULL; }
  const uint8_t *p;
  uint32_t n;
  switch (*tag) {
    case 'd': {
      xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
      n = flat_get_u32(r);
      for (uint32_t i = 0; i < n && !r->bad; i++) {
        uint32_t klen = flat_get_u32(r);
        const uint8_t *k = flat_take(r, klen);
        if (!k || klen > 4096) { r->bad = 1; break; }
        char key[4097];
        memcpy(key, k, klen);
        key[klen] = 0;
        xpc_object_t v = flat_decode(r, depth + 1);
        if (v) { xpc_dictionary_set_value(d, key, v); xpc_release(v); }
      }
      if (r->bad) { xpc_release(d); return NULL; }
      return d;
    }
    case 'a': {
      xpc_object_t a = xpc_array_create(NULL, 0);
      n = flat_get_u32(r);
      for (uint32_t i = 0; i < n && !r->bad; i++) {
        xpc_object_t v = flat_decode(r, depth + 1);
        if (v) { xpc_array_append_value(a, v); xpc_release(v); }
      }
      if (r->bad) { xpc_release(a); return NULL; }
      return a;
    }
    case 's': case 'D': {
      n = flat_get_u32(r);
      if (!(p = flat_take(r, n))) return NULL;
      if (*tag == 'D') return xpc_data_create(p, n);
      char *s = malloc((size_t)n + 1);
      memcpy(s, p, n);
      s[n] = 0;
      xpc_object_t o = xpc_string_create(s);
      free(s);
      return o;
    }
    case 'u': case 'i': case 'f': {
      uint64_t v;
      if (!(p = flat_take(r, 8))) return NULL;
      memcpy(&v, p, 8);
      if (*tag == 'u') return xpc_uint64_create(v);
      if (*tag == 'i') return xpc_int64_create((int64_t)v);
      double d;
      memcpy(&d, &v, 8);
      return xpc_double_create(d);
    }
    case 'b': return (p = flat_take(r, 1)) ? xpc_bool_create(*p != 0) : NULL;
    case 'U': return (p = flat_take(r, 16)) ? xpc_uuid_create(p) : NULL;
    default: r->bad = 1; return NULL;
  }
}

#endif
