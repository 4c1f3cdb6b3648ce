/*
 * The slice of <vmnet/vmnet.h>, <xpc/xpc.h> and <dispatch/dispatch.h> that vmlan uses, for Linux.
 * On macOS the SDK's own headers are used instead (shims/vmnet-shim.h picks); this file is what the
 * vmnet double (test/doubles/) implements and what test/ffi/vmnet-layout.test.ts checks the
 * TypeScript layouts and constants against. test/doubles/sdk/ wraps it as a stand-in SDK for a
 * macOS target (clang -target arm64-apple-macos13 -fsyntax-only), with the macOS 26 calls marked
 * API_AVAILABLE(macos(26.0)) as Apple documents them, or left out as an SDK before 26 does. Numbers and layouts: /work/shared/native-facts.md §A
 * (Apple's vmnet docs; QEMU, vmnet-helper, Rust/OCaml bindings agree on them).
 * Needs clang -fblocks (blocks are part of the ABI) and libBlocksRuntime.
 */
#ifndef VMLAN_VMNET_H
#define VMLAN_VMNET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* ---- libxpc (xpc/xpc.h, xpc/base.h): objects are opaque, types are addresses of exported structs. */
typedef void *xpc_object_t;
typedef const struct _xpc_type_s *xpc_type_t;
typedef unsigned char uuid_t[16];
extern const struct _xpc_type_s _xpc_type_dictionary, _xpc_type_array, _xpc_type_string, _xpc_type_uint64,
    _xpc_type_int64, _xpc_type_bool, _xpc_type_uuid, _xpc_type_data, _xpc_type_double, _xpc_type_mach_send,
    _xpc_type_connection, _xpc_type_error;
#define XPC_TYPE_DICTIONARY (&_xpc_type_dictionary)
#define XPC_TYPE_ARRAY (&_xpc_type_array)
#define XPC_TYPE_STRING (&_xpc_type_string)
#define XPC_TYPE_UINT64 (&_xpc_type_uint64)
#define XPC_TYPE_INT64 (&_xpc_type_int64)
#define XPC_TYPE_BOOL (&_xpc_type_bool)
#define XPC_TYPE_UUID (&_xpc_type_uuid)
#define XPC_TYPE_DATA (&_xpc_type_data)
#define XPC_TYPE_DOUBLE (&_xpc_type_double)
/* Not plain data: a Mach send right (only XPC can move it). The double uses it to test that path. */
#define XPC_TYPE_MACH_SEND (&_xpc_type_mach_send)
#define XPC_TYPE_CONNECTION (&_xpc_type_connection)
#define XPC_TYPE_ERROR (&_xpc_type_error)
typedef bool (^xpc_dictionary_applier_t)(const char *key, xpc_object_t value);
typedef bool (^xpc_array_applier_t)(size_t index, xpc_object_t value);

xpc_object_t xpc_retain(xpc_object_t object);
void xpc_release(xpc_object_t object);
xpc_type_t xpc_get_type(xpc_object_t object);
xpc_object_t xpc_dictionary_create(const char *const *keys, const xpc_object_t *values, size_t count);
void xpc_dictionary_set_value(xpc_object_t dict, const char *key, xpc_object_t value);
void xpc_dictionary_set_uint64(xpc_object_t dict, const char *key, uint64_t value);
void xpc_dictionary_set_int64(xpc_object_t dict, const char *key, int64_t value);
void xpc_dictionary_set_string(xpc_object_t dict, const char *key, const char *string);
void xpc_dictionary_set_bool(xpc_object_t dict, const char *key, bool value);
void xpc_dictionary_set_uuid(xpc_object_t dict, const char *key, const uuid_t uuid);
xpc_object_t xpc_dictionary_get_value(xpc_object_t dict, const char *key);
uint64_t xpc_dictionary_get_uint64(xpc_object_t dict, const char *key);
int64_t xpc_dictionary_get_int64(xpc_object_t dict, const char *key);
const char *xpc_dictionary_get_string(xpc_object_t dict, const char *key);
bool xpc_dictionary_get_bool(xpc_object_t dict, const char *key);
const uint8_t *xpc_dictionary_get_uuid(xpc_object_t dict, const char *key);
size_t xpc_dictionary_get_count(xpc_object_t dict);
bool xpc_dictionary_apply(xpc_object_t dict, xpc_dictionary_applier_t applier);
xpc_object_t xpc_array_create(const xpc_object_t *objects, size_t count);
void xpc_array_append_value(xpc_object_t array, xpc_object_t value);
size_t xpc_array_get_count(xpc_object_t array);
bool xpc_array_apply(xpc_object_t array, xpc_array_applier_t applier);
xpc_object_t xpc_string_create(const char *string);
const char *xpc_string_get_string_ptr(xpc_object_t string);
xpc_object_t xpc_uint64_create(uint64_t value);
uint64_t xpc_uint64_get_value(xpc_object_t object);
xpc_object_t xpc_int64_create(int64_t value);
int64_t xpc_int64_get_value(xpc_object_t object);
xpc_object_t xpc_bool_create(bool value);
bool xpc_bool_get_value(xpc_object_t object);
xpc_object_t xpc_uuid_create(const uuid_t uuid);
const uint8_t *xpc_uuid_get_bytes(xpc_object_t object);
xpc_object_t xpc_data_create(const void *bytes, size_t length);
const void *xpc_data_get_bytes_ptr(xpc_object_t object);
size_t xpc_data_get_length(xpc_object_t object);
xpc_object_t xpc_double_create(double value);
double xpc_double_get_value(xpc_object_t object);

/*
 * ---- XPC connections (xpc/connection.h): Mach services, messages with replies, connection events.
 * Error events are dictionaries of type XPC_TYPE_ERROR (their XPC_ERROR_KEY_DESCRIPTION is readable
 * with the dictionary getters); XPC_ERROR_CONNECTION_INVALID ends a connection for good,
 * XPC_ERROR_CONNECTION_INTERRUPTED means the remote end went away (a reply never comes).
 */
typedef xpc_object_t xpc_connection_t;
typedef void (^xpc_handler_t)(xpc_object_t object);
struct _xpc_error_s;
extern struct _xpc_error_s _xpc_error_connection_invalid, _xpc_error_connection_interrupted, _xpc_error_termination_imminent;
#define XPC_ERROR_CONNECTION_INVALID ((xpc_object_t)&_xpc_error_connection_invalid)
#define XPC_ERROR_CONNECTION_INTERRUPTED ((xpc_object_t)&_xpc_error_connection_interrupted)
#define XPC_ERROR_TERMINATION_IMMINENT ((xpc_object_t)&_xpc_error_termination_imminent)
#define XPC_ERROR_KEY_DESCRIPTION "XPCErrorDescription"
#define XPC_CONNECTION_MACH_SERVICE_LISTENER (1 << 0)
#define XPC_CONNECTION_MACH_SERVICE_PRIVILEGED (1 << 1)
struct dispatch_queue_s;
xpc_connection_t xpc_connection_create_mach_service(const char *name, struct dispatch_queue_s *targetq, uint64_t flags);
void xpc_connection_set_target_queue(xpc_connection_t connection, struct dispatch_queue_s *targetq);
void xpc_connection_set_event_handler(xpc_connection_t connection, xpc_handler_t handler);
void xpc_connection_resume(xpc_connection_t connection);
void xpc_connection_cancel(xpc_connection_t connection);
void xpc_connection_send_message(xpc_connection_t connection, xpc_object_t message);
xpc_object_t xpc_connection_send_message_with_reply_sync(xpc_connection_t connection, xpc_object_t message);
xpc_object_t xpc_dictionary_create_reply(xpc_object_t original);
xpc_object_t xpc_dictionary_create_empty(void);
pid_t xpc_connection_get_pid(xpc_connection_t connection);
uid_t xpc_connection_get_euid(xpc_connection_t connection);
gid_t xpc_connection_get_egid(xpc_connection_t connection);

/* ---- libdispatch (dispatch/dispatch.h): serial queues, async blocks, semaphores. */
typedef struct dispatch_queue_s *dispatch_queue_t;
typedef struct dispatch_queue_attr_s *dispatch_queue_attr_t;
typedef struct dispatch_semaphore_s *dispatch_semaphore_t;
typedef void *dispatch_object_t;
typedef uint64_t dispatch_time_t;
typedef void (^dispatch_block_t)(void);
#define DISPATCH_QUEUE_SERIAL NULL
#define DISPATCH_TIME_NOW (0ull)
#define DISPATCH_TIME_FOREVER (~0ull)
#define NSEC_PER_SEC 1000000000ull
#define NSEC_PER_MSEC 1000000ull

dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr);
void dispatch_async(dispatch_queue_t queue, dispatch_block_t block);
dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta);
dispatch_semaphore_t dispatch_semaphore_create(intptr_t value);
intptr_t dispatch_semaphore_wait(dispatch_semaphore_t sema, dispatch_time_t timeout);
intptr_t dispatch_semaphore_signal(dispatch_semaphore_t sema);
void dispatch_retain(dispatch_object_t object);
void dispatch_release(dispatch_object_t object);

/* ---- CoreFoundation: the macOS 26 vmnet refs are CF objects. */
void CFRelease(const void *cf);

/* ---- vmnet (vmnet/vmnet.h) */
typedef uint32_t vmnet_return_t;
enum {
  VMNET_SUCCESS = 1000, VMNET_FAILURE = 1001, VMNET_MEM_FAILURE = 1002, VMNET_INVALID_ARGUMENT = 1003,
  VMNET_SETUP_INCOMPLETE = 1004, VMNET_INVALID_ACCESS = 1005, VMNET_PACKET_TOO_BIG = 1006,
  VMNET_BUFFER_EXHAUSTED = 1007, VMNET_TOO_MANY_PACKETS = 1008, VMNET_SHARING_SERVICE_BUSY = 1009,
  VMNET_NOT_AUTHORIZED = 1010,
};
typedef uint32_t operating_modes_t;
typedef operating_modes_t vmnet_mode_t;
enum { VMNET_HOST_MODE = 1000, VMNET_SHARED_MODE = 1001, VMNET_BRIDGED_MODE = 1002 };
typedef uint32_t interface_event_t;
/* <net/ethernet.h> struct ether_addr, as vmnet's reservation call takes it. */
typedef struct { uint8_t octet[6]; } ether_addr_t;
enum { VMNET_INTERFACE_PACKETS_AVAILABLE = 1 << 0 };

struct vmpktdesc {
  size_t vm_pkt_size;        /* in: buffer capacity (read) or packet length (write); out: packet length */
  struct iovec *vm_pkt_iov;  /* exactly one iovec per packet for vmnet_write */
  uint32_t vm_pkt_iovcnt;
  uint32_t vm_flags;         /* set to 0 */
};

typedef struct vmnet_interface *interface_ref;

typedef void (^vmnet_start_interface_completion_handler_t)(vmnet_return_t status, xpc_object_t interface_param);
typedef void (^vmnet_interface_event_callback_t)(interface_event_t event_mask, xpc_object_t event);
typedef void (^vmnet_interface_completion_handler_t)(vmnet_return_t status);

extern const char *vmnet_operation_mode_key, *vmnet_interface_id_key, *vmnet_mac_address_key, *vmnet_mtu_key,
    *vmnet_max_packet_size_key, *vmnet_estimated_packets_available_key, *vmnet_start_address_key,
    *vmnet_end_address_key, *vmnet_subnet_mask_key, *vmnet_shared_interface_name_key, *vmnet_nat66_prefix_key,
    *vmnet_enable_tso_key, *vmnet_enable_checksum_offload_key, *vmnet_enable_isolation_key,
    *vmnet_allocate_mac_address_key, *vmnet_read_max_packets_key, *vmnet_write_max_packets_key,
    *vmnet_enable_virtio_header_key, *vmnet_network_identifier_key;

interface_ref vmnet_start_interface(xpc_object_t interface_desc, dispatch_queue_t queue,
                                    vmnet_start_interface_completion_handler_t handler);
vmnet_return_t vmnet_interface_set_event_callback(interface_ref interface, interface_event_t event_mask,
                                                  dispatch_queue_t queue, vmnet_interface_event_callback_t callback);
vmnet_return_t vmnet_read(interface_ref interface, struct vmpktdesc *packets, int *pktcnt);
vmnet_return_t vmnet_write(interface_ref interface, struct vmpktdesc *packets, int *pktcnt);
vmnet_return_t vmnet_stop_interface(interface_ref interface, dispatch_queue_t queue,
                                    vmnet_interface_completion_handler_t handler);
xpc_object_t vmnet_copy_shared_interface_list(void);

/* ---- macOS 26 (developer.apple.com/documentation/vmnet: "macOS 26.0+" on each of these) */
#ifndef VMNET_MACOS26
#define VMNET_MACOS26
#endif
#ifndef VMLAN_SDK_WITHOUT_NETWORKS
typedef struct vmnet_network_configuration *vmnet_network_configuration_ref;
typedef struct vmnet_network *vmnet_network_ref;
vmnet_network_configuration_ref vmnet_network_configuration_create(vmnet_mode_t mode, vmnet_return_t *status) VMNET_MACOS26;
void vmnet_network_configuration_disable_dhcp(vmnet_network_configuration_ref config) VMNET_MACOS26;
void vmnet_network_configuration_disable_nat44(vmnet_network_configuration_ref config) VMNET_MACOS26;
void vmnet_network_configuration_disable_nat66(vmnet_network_configuration_ref config) VMNET_MACOS26;
void vmnet_network_configuration_disable_dns_proxy(vmnet_network_configuration_ref config) VMNET_MACOS26;
/* "The framework doesn't allow modifying reservation while a network is active" (Apple's documentation). */
vmnet_return_t vmnet_network_configuration_add_dhcp_reservation(vmnet_network_configuration_ref config, const ether_addr_t *client,
                                                                const struct in_addr *reservation) VMNET_MACOS26;
vmnet_return_t vmnet_network_configuration_set_ipv4_subnet(vmnet_network_configuration_ref config,
                                                           const struct in_addr *subnet_addr,
                                                           const struct in_addr *subnet_mask) VMNET_MACOS26;
vmnet_return_t vmnet_network_configuration_set_ipv6_prefix(vmnet_network_configuration_ref config,
                                                           const struct in6_addr *prefix, uint8_t prefix_len) VMNET_MACOS26;
vmnet_return_t vmnet_network_configuration_set_mtu(vmnet_network_configuration_ref config, uint32_t mtu) VMNET_MACOS26;
vmnet_network_ref vmnet_network_create(vmnet_network_configuration_ref config, vmnet_return_t *status) VMNET_MACOS26;
vmnet_network_ref vmnet_network_create_with_serialization(xpc_object_t serialization, vmnet_return_t *status) VMNET_MACOS26;
xpc_object_t vmnet_network_copy_serialization(vmnet_network_ref network, vmnet_return_t *status) VMNET_MACOS26;
void vmnet_network_get_ipv4_subnet(vmnet_network_ref network, struct in_addr *subnet, struct in_addr *mask) VMNET_MACOS26;
void vmnet_network_get_ipv6_prefix(vmnet_network_ref network, struct in6_addr *prefix, uint8_t *prefix_len) VMNET_MACOS26;
interface_ref vmnet_interface_start_with_network(vmnet_network_ref network, xpc_object_t interface_desc,
                                                 dispatch_queue_t queue,
                                                 vmnet_start_interface_completion_handler_t handler) VMNET_MACOS26;
/* A forwarding rule in a configuration, before vmnet_network_create (vmnet_network_configuration_add_port_forwarding_rule:
 * "macOS 26.0+"; "internal_port ... external_port ... in host byte order"). */
vmnet_return_t vmnet_network_configuration_add_port_forwarding_rule(vmnet_network_configuration_ref config, uint8_t protocol,
                                                                    sa_family_t address_family, uint16_t internal_port,
                                                                    uint16_t external_port, const void *internal_address) VMNET_MACOS26;
#endif

/* Port forwarding on a started interface (Apple's vmnet documentation: "macOS 11.0+"). Ports in
 * host byte order; internal_address points to an in_addr (AF_INET) or in6_addr (AF_INET6). */
vmnet_return_t vmnet_interface_add_ip_port_forwarding_rule(interface_ref interface, uint8_t protocol, uint16_t external_port,
                                                           uint8_t address_family, const void *internal_address,
                                                           uint16_t internal_port, vmnet_interface_completion_handler_t handler);
vmnet_return_t vmnet_interface_remove_ip_port_forwarding_rule(interface_ref interface, uint8_t protocol, uint16_t external_port,
                                                              uint8_t address_family, vmnet_interface_completion_handler_t handler);

#endif
