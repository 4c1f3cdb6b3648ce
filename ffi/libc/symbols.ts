/**
 * libc symbols, data only. Signatures from the Linux man pages (section 2/3) for glibc x86-64/arm64.
 * ssize_t returns use i64_fast (a number, not a BigInt; see native-facts D.1d).
 * Variadic functions (ioctl, open, fcntl) are declared with their fixed integer arguments, which
 * is ABI-safe for integer/pointer arguments on LP64.
 */
import { FFIType, type FFIFunction } from "bun:ffi";

const { i32, u32, u64, ptr, i64_fast, cstring } = FFIType;
/** size_t on LP64 */
const usize = FFIType.u64;

/** In both glibc and libSystem. */
export const commonSymbols = {
  /** int socket(int domain, int type, int protocol) — socket(2) */
  socket: { args: [i32, i32, i32], returns: i32 },
  /** int socketpair(int domain, int type, int protocol, int sv[2]) — socketpair(2) */
  socketpair: { args: [i32, i32, i32, ptr], returns: i32 },
  /** int bind(int fd, const struct sockaddr *addr, socklen_t len) — bind(2) */
  bind: { args: [i32, ptr, u32], returns: i32 },
  /** int getsockname(int fd, struct sockaddr *addr, socklen_t *len) — getsockname(2) */
  getsockname: { args: [i32, ptr, ptr], returns: i32 },
  /** ssize_t send(int fd, const void *buf, size_t len, int flags) — send(2) */
  send: { args: [i32, ptr, usize, i32], returns: i64_fast },
  /** ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen) */
  sendto: { args: [i32, ptr, usize, i32, ptr, u32], returns: i64_fast },
  /** ssize_t recv(int fd, void *buf, size_t len, int flags) — recv(2) */
  recv: { args: [i32, ptr, usize, i32], returns: i64_fast },
  /** ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen) */
  recvfrom: { args: [i32, ptr, usize, i32, ptr, ptr], returns: i64_fast },
  /** int setsockopt(int fd, int level, int name, const void *val, socklen_t len) — setsockopt(2) */
  setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
  /** int getsockopt(int fd, int level, int name, void *val, socklen_t *len) — getsockopt(2) */
  getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
  /** int close(int fd) — close(2) */
  close: { args: [i32], returns: i32 },
  /** int ioctl(int fd, unsigned long request, void *arg) — ioctl(2) */
  ioctl: { args: [i32, u64, ptr], returns: i32 },
  /** int open(const char *path, int flags, mode_t mode) — open(2) */
  open: { args: [cstring, i32, u32], returns: i32 },
  /** int fcntl(int fd, int cmd, int arg) — fcntl(2) */
  fcntl: { args: [i32, i32, i32], returns: i32 },
  /** ssize_t read(int fd, void *buf, size_t n) — read(2) */
  read: { args: [i32, ptr, usize], returns: i64_fast },
  /** ssize_t write(int fd, const void *buf, size_t n) — write(2) */
  write: { args: [i32, ptr, usize], returns: i64_fast },
  /** int poll(struct pollfd *fds, nfds_t nfds, int timeout_ms) — poll(2) */
  poll: { args: [ptr, u64, i32], returns: i32 },
  /** unsigned if_nametoindex(const char *ifname) — if_nametoindex(3); 0 and errno on failure */
  if_nametoindex: { args: [cstring], returns: u32 },
  /** char *if_indextoname(unsigned ifindex, char *ifname) — if_indextoname(3); buffer of IF_NAMESIZE */
  if_indextoname: { args: [u32, ptr], returns: ptr },
} as const satisfies Record<string, FFIFunction>;

/** glibc only. */
export const linuxSymbols = {
  ...commonSymbols,
  /** int *__errno_location(void) — errno.h: the calling thread's errno. */
  __errno_location: { args: [], returns: ptr },
  /** int recvmmsg(int fd, struct mmsghdr *msgvec, unsigned vlen, int flags, struct timespec *timeout) — recvmmsg(2) */
  recvmmsg: { args: [i32, ptr, u32, i32, ptr], returns: i32 },
  /** int sendmmsg(int fd, struct mmsghdr *msgvec, unsigned vlen, int flags) — sendmmsg(2) */
  sendmmsg: { args: [i32, ptr, u32, i32], returns: i32 },
  /** int setns(int fd, int nstype) — setns(2): moves the calling thread only (the CNI plugin's netlink socket, platform/linux/netns.ts) */
  setns: { args: [i32, i32], returns: i32 },
  /** int flock(int fd, int operation) — flock(2): the CNI plugin's per-network lock (platform/linux/lock.ts) */
  flock: { args: [i32, i32], returns: i32 },
  /** int madvise(void *addr, size_t length, int advice) — madvise(2): a helper gives back clean code pages (datapath/code-pages.ts) */
  madvise: { args: [ptr, usize, i32], returns: i32 },
} as const satisfies Record<string, FFIFunction>;

/**
 * libSystem only. recvmsg_x/sendmsg_x are private and opened separately (ffi/libc/msg-x.ts) so that
 * their absence means a per-datagram fallback, not a failed dlopen.
 */
export const darwinSymbols = {
  ...commonSymbols,
  /** int *__error(void) — <sys/errno.h> (`#define errno (*__error())`): the calling thread's errno. */
  __error: { args: [], returns: ptr },
  /** ssize_t recvmsg(int fd, struct msghdr *msg, int flags) — recvmsg(2): the fallback for recvmsg_x */
  recvmsg: { args: [i32, ptr, i32], returns: i64_fast },
  /** ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) — sendmsg(2): the fallback for sendmsg_x */
  sendmsg: { args: [i32, ptr, i32], returns: i64_fast },
} as const satisfies Record<string, FFIFunction>;

/**
 * The type callers see: every symbol of both tables. At run time only this OS's table is bound
 * (ffi/libc/load.ts), so an OS-specific symbol is called only behind an `OS.name` check.
 */
export type LibcSymbols = typeof linuxSymbols & typeof darwinSymbols;
