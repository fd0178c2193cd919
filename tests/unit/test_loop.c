/* Unit tests for src/loop.c: timer ordering on the one timerfd, re-arm and
 * disarm, signals through the signalfd, fd watches, and no wakeup when
 * nothing is due. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "gorral/loop.h"
#include "gorral/util.h"

static int order[64], n_order;

static void record(struct loop *l, void *userdata) {
        (void)l;
        order[n_order++] = (int)(intptr_t)userdata;
}

static void quit_cb(struct loop *l, void *userdata) {
        (void)userdata;
        loop_quit(l, 7);
}

Test(loop, timers_fire_in_deadline_order) {
        struct loop *l;
        struct loop_timer t[8], q;
        static const int delays_ms[8] = { 40, 5, 30, 10, 25, 1, 35, 20 };
        uint64_t t0 = now_usec();

        n_order = 0;
        cr_assert_eq(loop_new(&l), 0);
        for (int i = 0; i < 8; i++) {
                loop_timer_init(&t[i], record, (void *)(intptr_t)delays_ms[i]);
                cr_assert_eq(loop_timer_arm(l, &t[i], t0 + (uint64_t)delays_ms[i] * 1000), 0);
        }
        loop_timer_init(&q, quit_cb, NULL);
        cr_assert_eq(loop_timer_arm(l, &q, t0 + 50000), 0);
        cr_assert_eq(loop_next_deadline(l), t0 + 1000);
        cr_assert_eq(loop_run(l), 7);
        cr_assert_eq(n_order, 8);
        for (int i = 1; i < 8; i++)
                cr_assert_lt(order[i - 1], order[i], "fired %d before %d", order[i - 1], order[i]);
        cr_assert_geq(now_usec() - t0, 50000, "the loop slept until the deadline");
        loop_free(l);
}

Test(loop, rearm_and_disarm) {
        struct loop *l;
        struct loop_timer a, b, c, q;
        uint64_t t0 = now_usec();

        n_order = 0;
        cr_assert_eq(loop_new(&l), 0);
        loop_timer_init(&a, record, (void *)1);
        loop_timer_init(&b, record, (void *)2);
        loop_timer_init(&c, record, (void *)3);
        loop_timer_init(&q, quit_cb, NULL);
        cr_assert_eq(loop_timer_arm(l, &a, t0 + 5000), 0);
        cr_assert_eq(loop_timer_arm(l, &b, t0 + 10000), 0);
        cr_assert_eq(loop_timer_arm(l, &c, t0 + 15000), 0);
        cr_assert_eq(loop_timer_arm(l, &q, t0 + 30000), 0);
        cr_assert_eq(loop_timer_arm(l, &a, t0 + 20000), 0); /* later now */
        loop_timer_disarm(l, &b);
        loop_timer_disarm(l, &b);                          /* twice: no-op */
        cr_assert(!loop_timer_armed(&b));
        cr_assert_eq(loop_run(l), 7);
        cr_assert_eq(n_order, 2);
        cr_assert_eq(order[0], 3);
        cr_assert_eq(order[1], 1);
        loop_free(l);
}

Test(loop, past_deadline_fires_at_once_and_idle_does_not_wake) {
        struct loop *l;
        struct loop_timer a;

        n_order = 0;
        cr_assert_eq(loop_new(&l), 0);
        loop_timer_init(&a, record, (void *)9);
        cr_assert_eq(loop_timer_arm(l, &a, 0), 0);
        cr_assert_gt(loop_run_once(l, 1000), 0);
        cr_assert_eq(n_order, 1);
        /* Nothing armed, nothing watched: no event within 50 ms. */
        cr_assert_eq(loop_next_deadline(l), UINT64_MAX);
        cr_assert_eq(loop_run_once(l, 50), 0);
        loop_free(l);
}

static int got_sig;
static void on_sig(struct loop *l, const struct signalfd_siginfo *si, void *userdata) {
        (void)userdata;
        got_sig = (int)si->ssi_signo;
        loop_quit(l, 0);
}

Test(loop, signals_through_signalfd) {
        struct loop *l;
        sigset_t mask, old, now;

        cr_assert_eq(loop_new(&l), 0);
        sigemptyset(&mask);
        sigaddset(&mask, SIGUSR1);
        cr_assert_eq(loop_set_signals(l, &mask, on_sig, NULL, &old), 0);
        cr_assert(!sigismember(&old, SIGUSR1));
        sigprocmask(SIG_SETMASK, NULL, &now);
        cr_assert(sigismember(&now, SIGUSR1), "blocked while the signalfd reads it");
        cr_assert_eq(loop_set_signals(l, &mask, on_sig, NULL, NULL), -EBUSY);
        kill(getpid(), SIGUSR1);
        cr_assert_eq(loop_run(l), 0);
        cr_assert_eq(got_sig, SIGUSR1);
        loop_free(l);
}

static char buf[16];
static void on_read(struct loop *l, int fd, uint32_t events, void *userdata) {
        ssize_t n;

        (void)events;
        n = read(fd, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = '\0';
        *(int *)userdata += 1;
        loop_quit(l, 0);
}

Test(loop, fd_watch) {
        struct loop *l;
        int p[2], calls = 0;

        cr_assert_eq(loop_new(&l), 0);
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        cr_assert_eq(loop_add_fd(l, p[0], EPOLLIN, on_read, &calls), 0);
        cr_assert_eq(loop_add_fd(l, p[0], EPOLLIN, on_read, &calls), -EEXIST);
        cr_assert_eq(write(p[1], "hi", 2), 2);
        cr_assert_eq(loop_run(l), 0);
        cr_assert_eq(calls, 1);
        cr_assert_str_eq(buf, "hi");
        cr_assert_eq(loop_del_fd(l, p[0]), 0);
        cr_assert_eq(loop_del_fd(l, p[0]), -ENOENT);
        cr_assert_eq(write(p[1], "x", 1), 1);
        cr_assert_eq(loop_run_once(l, 20), 0, "deleted watch: no event");
        close(p[0]);
        close(p[1]);
        loop_free(l);
}
