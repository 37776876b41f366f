/*
 * sc_deadlock: two threads take two mutexes in opposite orders and wait for
 * each other forever (a barrier makes sure both hold their first one).
 */
#include "sc_common.h"

#include <pthread.h>
#include <sys/syscall.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both;

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock_b);
    SC_SAY("worker thread %ld holds lock_b %p\n", (long)syscall(SYS_gettid), (void *)&lock_b);
    pthread_barrier_wait(&both);
    pthread_mutex_lock(&lock_a);
    return NULL;
}

int main(void)
{
    sc_arm();
    pthread_t t;
    pthread_barrier_init(&both, NULL, 2);
    pthread_mutex_lock(&lock_a);
    SC_SAY("main thread %d holds lock_a %p\n", (int)getpid(), (void *)&lock_a);
    if (pthread_create(&t, NULL, worker, NULL) != 0)
        return 1;
    pthread_barrier_wait(&both);
    pthread_mutex_lock(&lock_b);
    pthread_join(t, NULL);
    return 0;
}
