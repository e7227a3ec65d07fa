/* Timed waits that end on time under libfaketime, for the suite's run a year ahead.
 *
 * libfaketime 0.9.10 (Debian 12) moves CLOCK_MONOTONIC along with the calendar, and
 * translates the deadlines of the waits it knows (pthread_cond_timedwait, sem_timedwait,
 * clock_nanosleep) back to the kernel's clock. It does not know sem_clockwait, which
 * Python's locks use for every timed wait (`Event.wait(0.5)`, `queue.get(timeout=1)`), nor
 * pthread_cond_clockwait (C++'s steady-clock waits): their deadlines, a year ahead of the
 * kernel's monotonic clock, reach the kernel as they are, so each such wait lasts a year and
 * a test whose wait is ended by its timeout hangs instead of going on.
 * (https://github.com/wolfcw/libfaketime/issues/390 and /issues/469.)
 *
 * Preloaded before libfaketime (`.ci/year-ahead`), these two take the distance between the
 * moved clock and the kernel's off a monotonic deadline, then wait as asked.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL

/* The deadline on the kernel's monotonic clock: clock_gettime goes through libfaketime,
 * the raw system call does not. */
static struct timespec kernel_deadline(const struct timespec *deadline) {
    struct timespec moved, kernel;
    clock_gettime(CLOCK_MONOTONIC, &moved);
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &kernel);
    long long ns = (long long)(deadline->tv_sec - moved.tv_sec + kernel.tv_sec) * NS_PER_S
                   + (deadline->tv_nsec - moved.tv_nsec + kernel.tv_nsec);
    if (ns < 0) ns = 0; /* already past: the wait ends at once, as it would have */
    struct timespec real = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
    return real;
}

int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *deadline) {
    static int (*next)(sem_t *, clockid_t, const struct timespec *);
    if (next == NULL) next = (int (*)(sem_t *, clockid_t, const struct timespec *))dlsym(
                          RTLD_NEXT, "sem_clockwait");
    if (clock != CLOCK_MONOTONIC) return next(sem, clock, deadline);
    struct timespec real = kernel_deadline(deadline);
    return next(sem, clock, &real);
}

int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex, clockid_t clock,
                           const struct timespec *deadline) {
    static int (*next)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
                       const struct timespec *);
    if (next == NULL) next = (int (*)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
                                      const struct timespec *))dlsym(RTLD_NEXT,
                                                                     "pthread_cond_clockwait");
    if (clock != CLOCK_MONOTONIC) return next(cond, mutex, clock, deadline);
    struct timespec real = kernel_deadline(deadline);
    return next(cond, mutex, clock, &real);
}
