/*
 * The JSON the shim hands to JS (interface_param, network info, XPC events): one line per answer,
 * written into a caller's buffer. Values from vmnet and from XPC peers are escaped, never trusted.
 */
#include <stdio.h>
#include <string.h>
#include "vmnet-shim.h"

void json_put(struct out *o, const char *s) {
  size_t n = strlen(s);
  if (o->len + n < o->cap) memcpy(o->buf + o->len, s, n + 1);
  o->len += n;
}

void json_string(struct out *o, const char *s) {
  char c[8];
  json_put(o, "\"");
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') snprintf(c, sizeof c, "\\%c", *s);
    else if ((unsigned char)*s < 0x20 || *s == 0x7f) snprintf(c, sizeof c, "\\u%04x", (unsigned char)*s);
    else snprintf(c, sizeof c, "%c", *s);
    json_put(o, c);
  }
  json_put(o, "\"");
}

void json_key(struct out *o, const char *key) {
  json_put(o, o->len > 1 ? "," : "");
  json_string(o, key);
  json_put(o, ":");
}

void json_params(xpc_object_t params, struct out *o) {
  xpc_dictionary_apply(params, ^bool(const char *key, xpc_object_t v) {
    char num[64];
    xpc_type_t t = xpc_get_type(v);
    if (t == XPC_TYPE_UINT64) snprintf(num, sizeof num, "%llu", (unsigned long long)xpc_uint64_get_value(v));
    else if (t == XPC_TYPE_INT64) snprintf(num, sizeof num, "%lld", (long long)xpc_int64_get_value(v));
    else if (t != XPC_TYPE_STRING && t != XPC_TYPE_UUID) return true;
    json_key(o, key);
    if (t == XPC_TYPE_STRING) { json_string(o, xpc_string_get_string_ptr(v)); return true; }
    if (t == XPC_TYPE_UUID) {
      const uint8_t *u = xpc_uuid_get_bytes(v);
      snprintf(num, sizeof num, "\"%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X\"", u[0], u[1], u[2], u[3],
               u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
    }
    json_put(o, num);
    return true;
  });
}
