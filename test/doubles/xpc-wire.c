/*
 * How the double's XPC connections carry a message between processes: one frame per message on a
 * unix stream socket, u32 body length, u64 message id, u64 id it replies to (0: none), u8 flags (1:
 * the sender waits for a reply), then the dictionary. Values: 'd' u32 n (u32 klen, key, value)*n,
 * 'a' u32 n value*n, 's'/'D' u32 len bytes, 'u'/'i'/'f' 8 bytes, 'b' u8, 'U' 16 bytes, and 'M' for a
 * Mach send right (XPC moves rights; the double's stand-in carries nothing). Host byte order: both
 * ends are the same machine. Connections and errors cannot be sent (a violation, as in libxpc).
 */
#include <stdlib.h>
#include <string.h>
#include "xpc-wire.h"

#define MAX_DEPTH 32
#define MAX_BODY (1u << 20)

xpc_object_t vmnet_double_mach_send_create(void);

static void put(struct wbuf *w, const void *p, size_t n) {
  if (w->len + n > w->cap) {
    w->cap = (w->len + n) * 2 + 64;
    w->p = realloc(w->p, w->cap);
  }
  memcpy(w->p + w->len, p, n);
  w->len += n;
}
static void put_u8(struct wbuf *w, uint8_t v) { put(w, &v, 1); }
static void put_u32(struct wbuf *w, size_t v) { uint32_t x = (uint32_t)v; put(w, &x, 4); }

bool wire_encode(struct wbuf *w, xpc_object_t o, int depth) {
  xpc_type_t t = xpc_get_type(o);
  __block bool ok = depth < MAX_DEPTH;
  if (!ok) return false;
  if (t == XPC_TYPE_DICTIONARY) {
    put_u8(w, 'd');
    put_u32(w, xpc_dictionary_get_count(o));
    xpc_dictionary_apply(o, ^bool(const char *key, xpc_object_t v) {
      put_u32(w, strlen(key));
      put(w, key, strlen(key));
      return ok = wire_encode(w, v, depth + 1);
    });
  } else if (t == XPC_TYPE_ARRAY) {
    put_u8(w, 'a');
    put_u32(w, xpc_array_get_count(o));
    xpc_array_apply(o, ^bool(size_t i, xpc_object_t v) { (void)i; return ok = wire_encode(w, v, depth + 1); });
  } else if (t == XPC_TYPE_STRING || t == XPC_TYPE_DATA) {
    const void *p = t == XPC_TYPE_STRING ? xpc_string_get_string_ptr(o) : xpc_data_get_bytes_ptr(o);
    size_t n = t == XPC_TYPE_STRING ? strlen(p) : xpc_data_get_length(o);
    put_u8(w, t == XPC_TYPE_STRING ? 's' : 'D');
    put_u32(w, n);
    put(w, p, n);
  } else if (t == XPC_TYPE_UINT64 || t == XPC_TYPE_INT64 || t == XPC_TYPE_DOUBLE) {
    uint64_t v;
    if (t == XPC_TYPE_UINT64) v = xpc_uint64_get_value(o);
    else if (t == XPC_TYPE_INT64) v = (uint64_t)xpc_int64_get_value(o);
    else { double d = xpc_double_get_value(o); memcpy(&v, &d, 8); }
    put_u8(w, t == XPC_TYPE_UINT64 ? 'u' : t == XPC_TYPE_INT64 ? 'i' : 'f');
    put(w, &v, 8);
  } else if (t == XPC_TYPE_BOOL) {
    put_u8(w, 'b');
    put_u8(w, xpc_bool_get_value(o));
  } else if (t == XPC_TYPE_UUID) {
    put_u8(w, 'U');
    put(w, xpc_uuid_get_bytes(o), 16);
  } else if (t == XPC_TYPE_MACH_SEND) {
    put_u8(w, 'M');
  } else {
    double_violation("xpc_connection_send_message: a %s cannot be sent in a message", t == XPC_TYPE_CONNECTION ? "connection" : "value of this type");
    return false;
  }
  return ok;
}

struct rd { const uint8_t *p; size_t len, off; };
static const uint8_t *take(struct rd *r, size_t n) {
  if (n > r->len - r->off) return NULL;
  const uint8_t *p = r->p + r->off;
  r->off += n;
  return p;
}
static bool take_u32(struct rd *r, uint32_t *v) {
  const uint8_t *p = take(r, 4);
  if (p) memcpy(v, p, 4);
  return p != NULL;
}

static xpc_object_t decode(struct rd *r, int depth) {
  const uint8_t *tag = take(r, 1), *p;
  uint32_t n;
  if (!tag || depth > MAX_DEPTH) return NULL;
  switch (*tag) {
    case 'd': case 'a': {
      if (!take_u32(r, &n)) return NULL;
      xpc_object_t c = *tag == 'd' ? xpc_dictionary_create(NULL, NULL, 0) : xpc_array_create(NULL, 0);
      for (uint32_t i = 0; i < n; i++) {
        uint32_t klen = 0;
        char key[256];
        if (*tag == 'd' && (!take_u32(r, &klen) || klen >= sizeof key || !(p = take(r, klen)))) { xpc_release(c); return NULL; }
        if (*tag == 'd') { memcpy(key, p, klen); key[klen] = 0; }
        xpc_object_t v = decode(r, depth + 1);
        if (!v) { xpc_release(c); return NULL; }
        if (*tag == 'd') xpc_dictionary_set_value(c, key, v); else xpc_array_append_value(c, v);
        xpc_release(v);
      }
      return c;
    }
    case 's': case 'D': {
      if (!take_u32(r, &n) || !(p = take(r, n))) return NULL;
      if (*tag == 'D') return xpc_data_create(p, n);
      char *s = calloc(1, (size_t)n + 1);
      memcpy(s, p, n);
      xpc_object_t o = xpc_string_create(s);
      free(s);
      return o;
    }
    case 'u': case 'i': case 'f': {
      uint64_t v;
      if (!(p = take(r, 8))) return NULL;
      memcpy(&v, p, 8);
      if (*tag == 'u') return xpc_uint64_create(v);
      if (*tag == 'i') return xpc_int64_create((int64_t)v);
      double d;
      memcpy(&d, &v, 8);
      return xpc_double_create(d);
    }
    case 'b': return (p = take(r, 1)) ? xpc_bool_create(*p != 0) : NULL;
    case 'U': return (p = take(r, 16)) ? xpc_uuid_create(p) : NULL;
    case 'M': return vmnet_double_mach_send_create();
    default: return NULL;
  }
}

bool wire_frame(struct wbuf *w, xpc_object_t msg, uint64_t id, uint64_t reply_to, uint8_t flags) {
  w->len = 0;
  struct wire_head h = {0, id, reply_to, flags};
  put(w, &h, sizeof h);
  if (!wire_encode(w, msg, 0)) return false;
  uint32_t body = (uint32_t)(w->len - sizeof h);
  memcpy(w->p, &body, 4);
  return true;
}

xpc_object_t wire_decode_body(const uint8_t *p, size_t len) {
  struct rd r = {p, len, 0};
  xpc_object_t o = decode(&r, 0);
  if (o && (r.off != len || xpc_get_type(o) != XPC_TYPE_DICTIONARY)) { xpc_release(o); o = NULL; }
  return o;
}

size_t wire_max_body(void) { return MAX_BODY; }
