/*
 * A minimal libdispatch stand-in: a serial queue is one pthread running copied blocks in FIFO order;
 * semaphores are a counter under a mutex. Enough for the vmnet calling pattern (native-facts C.1.3):
 * start on a queue, wait on a semaphore for the completion block, event callbacks on a serial queue.
 * Also the violation reporter shared by the double's files.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <Block.h>
#include "double.h"

static uint64_t violations;

vmnet_return_t double_violation(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  __atomic_add_fetch(&violations, 1, __ATOMIC_SEQ_CST);
  fprintf(stderr, "vmnet-double: VIOLATION %s\n", msg);
  fflush(stderr);
  const char *abort_env = getenv("VMLAN_DOUBLE_ABORT");
  if (abort_env && strcmp(abort_env, "1") == 0) abort();
  return VMNET_INVALID_ARGUMENT;
}

uint64_t vmnet_double_violations(void) { return __atomic_load_n(&violations, __ATOMIC_SEQ_CST); }

struct job { dispatch_block_t block; struct job *next; };
struct dispatch_queue_s {
  uint32_t magic;
  int refs;
  char label[64];
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct job *head, *tail;
  pthread_t thread;
};
struct dispatch_semaphore_s {
  uint32_t magic;
  int refs;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  intptr_t value;
};

/* Runs jobs until the last reference is gone and nothing is queued; then frees the queue. */
static void *queue_main(void *arg) {
  struct dispatch_queue_s *q = arg;
  pthread_mutex_lock(&q->lock);
  for (;;) {
    while (!q->head && q->refs > 0) pthread_cond_wait(&q->cond, &q->lock);
    if (!q->head) break;
    struct job *j = q->head;
    q->head = j->next;
    if (!q->head) q->tail = NULL;
    pthread_mutex_unlock(&q->lock);
    j->block();
    Block_release(j->block);
    free(j);
    pthread_mutex_lock(&q->lock);
  }
  pthread_mutex_unlock(&q->lock);
  q->magic = 0;
  pthread_mutex_destroy(&q->lock);
  pthread_cond_destroy(&q->cond);
  free(q);
  return NULL;
}

dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr) {
  if (attr != DISPATCH_QUEUE_SERIAL) double_violation("dispatch_queue_create: only serial queues are supported");
  struct dispatch_queue_s *q = calloc(1, sizeof *q);
  q->magic = MAGIC_QUEUE;
  q->refs = 1;
  snprintf(q->label, sizeof q->label, "%s", label ? label : "");
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->cond, NULL);
  pthread_create(&q->thread, NULL, queue_main, q);
  pthread_detach(q->thread);
  return q;
}

static bool queue_ok(dispatch_queue_t q, const char *fn) {
  if (!q || q->magic != MAGIC_QUEUE) {
    double_violation("%s: not a live dispatch queue (%p)", fn, (void *)q);
    return false;
  }
  return true;
}

void dispatch_async(dispatch_queue_t q, dispatch_block_t block) {
  if (!queue_ok(q, "dispatch_async")) return;
  if (!block) { double_violation("dispatch_async: NULL block"); return; }
  struct job *j = calloc(1, sizeof *j);
  j->block = Block_copy(block);
  pthread_mutex_lock(&q->lock);
  if (q->tail) q->tail->next = j; else q->head = j;
  q->tail = j;
  pthread_cond_signal(&q->cond);
  pthread_mutex_unlock(&q->lock);
}

dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta) {
  if (when == DISPATCH_TIME_FOREVER) return DISPATCH_TIME_FOREVER;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  uint64_t base = when == DISPATCH_TIME_NOW ? (uint64_t)now.tv_sec * NSEC_PER_SEC + (uint64_t)now.tv_nsec : when;
  return base + (uint64_t)delta;
}

dispatch_semaphore_t dispatch_semaphore_create(intptr_t value) {
  if (value < 0) { double_violation("dispatch_semaphore_create: negative value"); return NULL; }
  struct dispatch_semaphore_s *s = calloc(1, sizeof *s);
  s->magic = MAGIC_SEMA;
  s->refs = 1;
  s->value = value;
  pthread_mutex_init(&s->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->cond, &ca);
  return s;
}

/* Returns 0 when the semaphore was taken, non-zero on timeout (as libdispatch). */
intptr_t dispatch_semaphore_wait(dispatch_semaphore_t s, dispatch_time_t timeout) {
  if (!s || s->magic != MAGIC_SEMA) { double_violation("dispatch_semaphore_wait: not a semaphore"); return -1; }
  struct timespec ts = {(time_t)(timeout / NSEC_PER_SEC), (long)(timeout % NSEC_PER_SEC)};
  int rc = 0;
  pthread_mutex_lock(&s->lock);
  while (s->value <= 0 && rc != ETIMEDOUT) {
    if (timeout == DISPATCH_TIME_FOREVER) pthread_cond_wait(&s->cond, &s->lock);
    else rc = pthread_cond_timedwait(&s->cond, &s->lock, &ts);
  }
  intptr_t ret = s->value > 0 ? 0 : -1;
  if (ret == 0) s->value--;
  pthread_mutex_unlock(&s->lock);
  return ret;
}

intptr_t dispatch_semaphore_signal(dispatch_semaphore_t s) {
  if (!s || s->magic != MAGIC_SEMA) { double_violation("dispatch_semaphore_signal: not a semaphore"); return 0; }
  pthread_mutex_lock(&s->lock);
  s->value++;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->lock);
  return 1;
}

void dispatch_retain(dispatch_object_t o) {
  uint32_t magic = o ? *(uint32_t *)o : 0;
  if (magic == MAGIC_QUEUE) {
    struct dispatch_queue_s *q = o;
    pthread_mutex_lock(&q->lock);
    q->refs++;
    pthread_mutex_unlock(&q->lock);
  } else if (magic == MAGIC_SEMA) {
    __atomic_add_fetch(&((struct dispatch_semaphore_s *)o)->refs, 1, __ATOMIC_SEQ_CST);
  } else {
    double_violation("dispatch_retain: not a dispatch object (%p)", o);
  }
}

/* A queue is freed by its own thread once idle; a semaphore at once. */
void dispatch_release(dispatch_object_t o) {
  uint32_t magic = o ? *(uint32_t *)o : 0;
  if (magic == MAGIC_QUEUE) {
    struct dispatch_queue_s *q = o;
    pthread_mutex_lock(&q->lock);
    q->refs--;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
  } else if (magic == MAGIC_SEMA) {
    struct dispatch_semaphore_s *s = o;
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_SEQ_CST) > 0) return;
    s->magic = 0;
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
  } else {
    double_violation("dispatch_release: not a dispatch object (%p)", o);
  }
}
