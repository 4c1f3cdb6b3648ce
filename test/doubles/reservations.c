/*
 * Subnet reservations shared by every process that loads the double, as vmnet's are system-wide:
 * with VMLAN_DOUBLE_STATE_DIR set, a network's reservation is a file there ("net-<uuid>": address and
 * mask) that each holding process keeps open with a shared flock. A file nobody holds a lock on is a
 * reservation whose processes are all gone (vmnet ends it with the last reference): it is removed.
 * Without the directory, reservations are per process (network.c's list alone).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "double.h"

struct rec { uint32_t addr, mask; };

static const char *state_dir(void) {
  const char *d = getenv("VMLAN_DOUBLE_STATE_DIR");
  return d && *d ? d : NULL;
}
static int count_in(const char *dir);

static void path_of(char *out, size_t cap, const char *dir, const uint8_t uuid[16]) {
  int n = snprintf(out, cap, "%s/net-", dir);
  for (int i = 0; i < 16 && n + 2 < (int)cap; i++) n += snprintf(out + n, cap - (size_t)n, "%02x", uuid[i]);
}

/* Removes dead reservations; true when a live one other than `uuid` overlaps addr/mask. */
static bool busy(const char *dir, uint32_t addr, uint32_t mask, const uint8_t uuid[16], bool *same_live) {
  char self[512], p[512];
  path_of(self, sizeof self, dir, uuid);
  DIR *d = opendir(dir);
  bool clash = false;
  *same_live = false;
  for (struct dirent *e; d && (e = readdir(d));) {
    if (strncmp(e->d_name, "net-", 4) != 0) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    struct rec r;
    bool live = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (!live) unlink(p);
    else if (read(fd, &r, sizeof r) == (ssize_t)sizeof r) {
      if (strcmp(p, self) == 0) *same_live = true;
      else if ((r.addr & r.mask & mask) == (addr & r.mask & mask)) clash = true;
    }
    close(fd);
  }
  if (d) closedir(d);
  return clash;
}

/*
 * Takes (or joins, for the same uuid) the reservation of addr/mask (network byte order). Returns the
 * fd that holds it (close it to let go), -1 when a live reservation of another network overlaps,
 * -2 when reservations are per process (no directory).
 */
/* The directory's lock: every scan and every new reservation happens under it. */
static int lock_dir(const char *dir) {
  char lockp[512];
  snprintf(lockp, sizeof lockp, "%s/.lock", dir);
  int lk = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lk >= 0 && flock(lk, LOCK_EX) != 0) close(lk), lk = -1;
  return lk;
}

int double_reservation_take(uint32_t addr, uint32_t mask, const uint8_t uuid[16]) {
  const char *dir = state_dir();
  if (!dir) return -2;
  char p[512];
  int lk = lock_dir(dir);
  if (lk < 0) return -1;
  bool joined;
  int fd = -1;
  if (!busy(dir, addr, mask, uuid, &joined)) {
    path_of(p, sizeof p, dir, uuid);
    fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    struct rec r = {addr, mask};
    if (fd >= 0 && (flock(fd, LOCK_SH) != 0 || (!joined && pwrite(fd, &r, sizeof r, 0) != (ssize_t)sizeof r))) close(fd), fd = -1;
  }
  flock(lk, LOCK_UN);
  close(lk);
  return fd;
}

/* Lets go of a reservation; the last holder's file goes with it. */
void double_reservation_drop(int fd, const uint8_t uuid[16]) {
  const char *dir = state_dir();
  if (fd < 0) return;
  if (dir && flock(fd, LOCK_EX | LOCK_NB) == 0) { /* nobody else holds it */
    char p[512];
    path_of(p, sizeof p, dir, uuid);
    unlink(p);
  }
  close(fd);
}

/* Double-only, for tests: how many live reservations `dir` (NULL: this process's) holds; -1 without one. */
int vmnet_double_reservations(const char *dir) {
  if (!dir) dir = state_dir();
  return dir ? count_in(dir) : -1;
}

static int count_in(const char *dir) {
  bool ignored;
  uint8_t none[16] = {0};
  int lk = lock_dir(dir), n = 0;
  busy(dir, 0, 0xffffffffu, none, &ignored); /* removes dead ones */
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));) n += strncmp(e->d_name, "net-", 4) == 0;
  if (d) closedir(d);
  if (lk >= 0) close(lk);
  return n;
}
