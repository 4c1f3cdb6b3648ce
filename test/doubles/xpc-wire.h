/* The double's XPC message framing between processes (xpc-wire.c) and its connections (xpc-conn.c). */
#ifndef VMNET_DOUBLE_XPC_WIRE_H
#define VMNET_DOUBLE_XPC_WIRE_H

#include "double.h"

struct wbuf { uint8_t *p; size_t len, cap; };
struct __attribute__((packed)) wire_head { uint32_t body; uint64_t id, reply_to; uint8_t flags; };
enum { WIRE_WANTS_REPLY = 1 };

/* Appends the encoding of `o`; false (and a violation) for a value XPC cannot send. */
bool wire_encode(struct wbuf *w, xpc_object_t o, int depth);
/* A whole frame for `msg` in w (reset first); false when the message cannot be sent. */
bool wire_frame(struct wbuf *w, xpc_object_t msg, uint64_t id, uint64_t reply_to, uint8_t flags);
/* A received body → a new dictionary, or NULL when it is not a well-formed one. */
xpc_object_t wire_decode_body(const uint8_t *p, size_t len);
size_t wire_max_body(void);

#endif
