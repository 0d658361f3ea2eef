/*
 * unit_debug.c - the debug checks themselves (src/tl_assert.h): TL_ASSERT is
 * compiled into the test build and aborts; the lock wrappers record the
 * holder and abort on a lock taken twice, out of order or released by a
 * thread that does not hold it; a *_locked function called without its
 * lock aborts.  Each violation runs in a forked child.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "log.h"

/* Run fn(log) in a child with stderr silenced; true if it died by abort. */
static int aborts(void (*fn)(tl_log *), tl_log *log)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr))
            _exit(3);
        fn(log);
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 0;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void assert_false(tl_log *log)
{
    (void)log;
    volatile int zero = 0;
    TL_ASSERT(zero == 1);
}
static void w_twice(tl_log *log)
{
    tl_wlock(log);
    tl_wlock(log);
}
static void w_then_m(tl_log *log)
{
    tl_wlock(log);
    tl_mlock(log);
}
static void m_then_t(tl_log *log)
{
    tl_mlock(log);
    tl_tlock(log);
}
static void unlock_unheld(tl_log *log) { tl_wunlock(log); }
static void seal_unlocked(tl_log *log) { (void)tl_seal_locked(log); }
static void flush_unlocked(tl_log *log) { (void)tl_flush_mlocked(log, 1); }
static void stop_under_wlock(tl_log *log)
{
    tl_wlock(log);
    tl_maint_stop_internal(log);
}
static void in_order(tl_log *log)
{
    tl_tlock(log);
    tl_mlock(log);
    tl_wlock(log);
    tl_wunlock(log);
    tl_munlock(log);
    tl_tunlock(log);
}

int main(void)
{
    th_begin("unit_debug");
#ifndef TL_DEBUG
    CHECKF(0, "the test build must define TL_DEBUG");
#else
    tl_log *log = NULL;
    CHECK(tl_log_open(NULL, &log) == TL_OK);
    CHECK(aborts(assert_false, log));
    CHECK(aborts(w_twice, log));
    CHECK(aborts(w_then_m, log));
    CHECK(aborts(m_then_t, log));
    CHECK(aborts(unlock_unheld, log));
    CHECK(aborts(seal_unlocked, log));
    CHECK(aborts(flush_unlocked, log));
    CHECK(aborts(stop_under_wlock, log));
    CHECK(!aborts(in_order, log));

    /* Ownership is visible to the holder only while it holds the lock. */
    CHECK(!tl_lk_held(&log->lk_owner[TL_LK_WLOCK]));
    tl_mlock(log);
    tl_wlock(log);
    CHECK(tl_lk_held(&log->lk_owner[TL_LK_WLOCK]) && tl_lk_held(&log->lk_owner[TL_LK_MLOCK]));
    CHECK(!tl_lk_none_held(log));
    CHECK(tl_seal_locked(log) == TL_OK); /* empty memtable: a no-op */
    tl_wunlock(log);
    CHECK(!tl_lk_held(&log->lk_owner[TL_LK_WLOCK]) && tl_lk_held(&log->lk_owner[TL_LK_MLOCK]));
    tl_munlock(log);
    CHECK(tl_lk_none_held(log));

    /* The public calls leave no lock behind. */
    CHECK(tl_append(log, 1, 1) == TL_OK);
    CHECK(tl_flush(log) == TL_OK);
    CHECK(tl_compact(log) == TL_OK);
    CHECK(tl_lk_none_held(log));
    CHECK(tl_log_destroy(log) == TL_OK);
#endif
    return th_end();
}
