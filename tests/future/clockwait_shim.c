/*
 * Companion of Debian's libfaketime 0.9.10 for `make test-future`.
 *
 * libfaketime offsets CLOCK_MONOTONIC but does not intercept sem_clockwait() or pthread_cond_clockwait(), which
 * glibc >= 2.30 offers and CPython uses for every lock, Event.wait() and Thread.join() timeout. CPython computes
 * the deadline from the faked monotonic clock, the kernel compares it with the real one, and the wait lasts the
 * faked offset (400 days). This shim turns such a deadline into the same remaining time on the real clock.
 * Preloaded after libfaketime; nothing else is changed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct timespec real_deadline(clockid_t clock, const struct timespec *faked_deadline)
{
    struct timespec faked_now, real_now, out;
    clock_gettime(clock, &faked_now);                /* through libfaketime */
    syscall(SYS_clock_gettime, clock, &real_now);    /* around it */
    long long remaining = (faked_deadline->tv_sec - faked_now.tv_sec) * 1000000000LL
                          + (faked_deadline->tv_nsec - faked_now.tv_nsec);
    if (remaining < 0)
        remaining = 0;
    long long total = real_now.tv_nsec + remaining % 1000000000LL;
    out.tv_sec = real_now.tv_sec + remaining / 1000000000LL + total / 1000000000LL;
    out.tv_nsec = total % 1000000000LL;
    return out;
}

int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime)
{
    static int (*real)(sem_t *, clockid_t, const struct timespec *);
    if (!real)
        real = dlsym(RTLD_NEXT, "sem_clockwait");
    struct timespec deadline = real_deadline(clock, abstime);
    return real(sem, clock, &deadline);
}

int pthread_cond_clockwait(pthread_cond_t *cond, pthread_mutex_t *mutex, clockid_t clock,
                           const struct timespec *abstime)
{
    static int (*real)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);
    if (!real)
        real = dlsym(RTLD_NEXT, "pthread_cond_clockwait");
    struct timespec deadline = real_deadline(clock, abstime);
    return real(cond, mutex, clock, &deadline);
}
