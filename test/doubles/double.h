/*
 * Internals shared by the vmnet double's files (not part of the vmnet ABI).
 * Every object starts with a magic number so a wrong pointer (a stale ref, a config passed where a
 * network is expected) is reported as a violation instead of crashing somewhere later.
 */
#ifndef VMNET_DOUBLE_H
#define VMNET_DOUBLE_H

#include "../../shims/vmnet.h"

#define MAGIC_XPC 0x58504321u       /* "XPC!" */
#define MAGIC_QUEUE 0x51554555u     /* "QUEU" */
#define MAGIC_SEMA 0x53454d41u      /* "SEMA" */
#define MAGIC_IFACE 0x49464143u     /* "IFAC" */
#define MAGIC_CONFIG 0x434f4e46u    /* "CONF" */
#define MAGIC_NETWORK 0x4e455457u   /* "NETW" */

/*
 * Reports a caller bug: prints "vmnet-double: VIOLATION <what>" to stderr and counts it. With
 * VMLAN_DOUBLE_ABORT=1 it abort()s so a test fails at the faulty call. Returns VMNET_INVALID_ARGUMENT.
 */
vmnet_return_t double_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Number of violations reported so far in this process (exported for tests). */
uint64_t vmnet_double_violations(void);

/* True when `o` is a live XPC object of type `t` (no violation reported). */
bool double_xpc_is(xpc_object_t o, xpc_type_t t);
/* True while the object at `p` has not been freed (never dereferences `p`). */
bool double_xpc_live(const void *p);

/* The interface side shared by the classic and the network start paths (vmnet-double.c). */
struct double_network;
interface_ref double_start(struct double_network *net, xpc_object_t desc, dispatch_queue_t queue,
                           vmnet_start_interface_completion_handler_t handler);
/* Network facts the interface start reports (network.c). */
void double_network_retain(struct double_network *net);
void double_network_release(struct double_network *net);
uint32_t double_network_mtu(struct double_network *net);
/* The gateway-style address and mask of a network (what vmnet gives the host on its bridge). */
void double_network_gateway(struct double_network *net, struct in_addr *gateway, struct in_addr *mask);
/* Puts the host's address on the bridge unless it has one (host-address.c). */
void double_host_address(const char *bridge, struct in_addr gateway, struct in_addr mask);

/* Cross-process subnet reservations (reservations.c): an fd holding it, -1 busy, -2 per process only. */
int double_reservation_take(uint32_t addr, uint32_t mask, const uint8_t uuid[16]);
void double_reservation_drop(int fd, const uint8_t uuid[16]);

/* XPC objects the connections need (xpc-live.c): reply contexts and connection objects. */
struct double_conn;
void double_xpc_set_remote(xpc_object_t message, struct double_conn *c, uint64_t id);
bool double_xpc_reply_target(xpc_object_t message, struct double_conn **c, uint64_t *id);
xpc_object_t double_xpc_connection_object(struct double_conn *c);
struct double_conn *double_xpc_conn(xpc_object_t o, const char *fn);
/* A live configuration (network.c), reported otherwise. */
bool double_config_ok(vmnet_network_configuration_ref c, const char *fn);
/* Port forwarding rules (forwarding.c): a configuration's move to its network; any owner's end. */
void double_forwards_commit(vmnet_network_configuration_ref c, struct double_network *net, const struct in_addr *addr,
                            const struct in_addr *mask, const struct in6_addr *prefix, uint8_t prefix_len);
void double_forwards_forget(const void *owner);

#endif
