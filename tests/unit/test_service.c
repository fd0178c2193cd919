/* Unit tests for src/service.c: the state table walked cell by cell with
 * a fake world (no processes), backoff math, the restart budget, policy. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "gorral/exitcodes.h"
#include "gorral/log.h"
#include "gorral/service.h"

/* The fake world. */
static struct {
        int spawns, spawn_err, exec_errno;
        pid_t next_pid;
        int kills;
        pid_t last_kill_target;
        int last_kill_sig;
        bool group_alive;
        bool timer_armed;
        uint64_t timer_delay;
        uint64_t now;
        uint32_t rnd;
        int panics;
} w;

static int f_spawn(struct service *s, pid_t *ret_pid, int *ret_exec_errno) {
        (void)s;
        w.spawns++;
        if (w.spawn_err)
                return w.spawn_err;
        *ret_pid = w.next_pid++;
        *ret_exec_errno = w.exec_errno;
        return 0;
}
static int f_kill(struct service *s, pid_t target, int sig) {
        (void)s;
        w.kills++;
        w.last_kill_target = target;
        w.last_kill_sig = sig;
        return 0;
}
static bool f_group_alive(struct service *s, pid_t pgid) {
        (void)s;
        (void)pgid;
        return w.group_alive;
}
static int f_arm(struct service *s, uint64_t d) {
        (void)s;
        w.timer_armed = true;
        w.timer_delay = d;
        return 0;
}
static void f_disarm(struct service *s) {
        (void)s;
        w.timer_armed = false;
}
static uint64_t f_now(struct service *s) {
        (void)s;
        return w.now;
}
static uint32_t f_rnd(struct service *s) {
        (void)s;
        return w.rnd;
}
static void f_panic(struct service *s, const char *why) {
        (void)s;
        (void)why;
        w.panics++;
}

static const struct service_ops fake = {
        .spawn = f_spawn, .kill = f_kill, .group_alive = f_group_alive, .timer_arm = f_arm,
        .timer_disarm = f_disarm, .now_usec = f_now, .random = f_rnd, .panic = f_panic,
};

static char *argv_true[] = { "true", NULL };

static struct service_config cfg(enum service_restart r) {
        return (struct service_config){
                .name = "t", .argv = argv_true, .restart = r, .stop_signal = SIGTERM,
                .stop_timeout_usec = 10000000, .backoff_initial_usec = 100000, .backoff_max_usec = 30000000,
                .jitter_pct = 0, .restart_budget = 5, .restart_window_usec = 60000000, .start_grace_usec = 1000000,
        };
}

static void setup(void) {
        memset(&w, 0, sizeof w);
        w.next_pid = 100;
        w.now = 1000000000;
        w.rnd = 1u << 31; /* the middle: no jitter */
        log_set_level(LOG_LEVEL_ERROR);
}

static const struct service_event_data exit0 = { .status = 0 };
static const struct service_event_data exit3 = { .status = 3 << 8 };

TestSuite(service, .init = setup);

/* Every (state, event) cell: the handler exists, never panics, and lands
 * in the expected state (fake world: spawn works, group empty, budget
 * left, policy always, exit status 3). */
Test(service, walk_table) {
        static const enum service_state expect[_SERVICE_STATE_MAX][_SERVICE_EVENT_MAX] = {
                /*                 START             EXIT             TIMEOUT                STOP             GROUP_EMPTY      RESTART */
                [SERVICE_IDLE] = { SERVICE_STARTING, SERVICE_IDLE, SERVICE_IDLE, SERVICE_DONE, SERVICE_IDLE, SERVICE_IDLE },
                [SERVICE_STARTING] = { SERVICE_STARTING, SERVICE_BACKOFF, SERVICE_RUNNING, SERVICE_STOPPING, SERVICE_STARTING, SERVICE_STOPPING },
                [SERVICE_RUNNING] = { SERVICE_RUNNING, SERVICE_BACKOFF, SERVICE_RUNNING, SERVICE_STOPPING, SERVICE_RUNNING, SERVICE_STOPPING },
                [SERVICE_STOPPING] = { SERVICE_STOPPING, SERVICE_DONE, SERVICE_KILLING, SERVICE_STOPPING, SERVICE_STOPPING, SERVICE_STOPPING },
                [SERVICE_KILLING] = { SERVICE_KILLING, SERVICE_DONE, SERVICE_KILLING, SERVICE_KILLING, SERVICE_KILLING, SERVICE_KILLING },
                [SERVICE_CLEANUP] = { SERVICE_CLEANUP, SERVICE_CLEANUP, SERVICE_CLEANUP_KILL, SERVICE_CLEANUP, SERVICE_BACKOFF, SERVICE_CLEANUP },
                [SERVICE_CLEANUP_KILL] = { SERVICE_CLEANUP_KILL, SERVICE_CLEANUP_KILL, SERVICE_CLEANUP_KILL, SERVICE_CLEANUP_KILL, SERVICE_BACKOFF, SERVICE_CLEANUP_KILL },
                [SERVICE_BACKOFF] = { SERVICE_STARTING, SERVICE_BACKOFF, SERVICE_STARTING, SERVICE_DONE, SERVICE_BACKOFF, SERVICE_BACKOFF },
                [SERVICE_DONE] = { SERVICE_STARTING, SERVICE_DONE, SERVICE_DONE, SERVICE_DONE, SERVICE_DONE, SERVICE_DONE },
                [SERVICE_FAILED] = { SERVICE_STARTING, SERVICE_FAILED, SERVICE_FAILED, SERVICE_FAILED, SERVICE_FAILED, SERVICE_FAILED },
        };

        for (int st = 0; st < _SERVICE_STATE_MAX; st++)
                for (int ev = 0; ev < _SERVICE_EVENT_MAX; ev++) {
                        struct service s;
                        struct service_event_data d = { .status = 3 << 8, .signal = SIGTERM };

                        setup();
                        cr_assert_eq(service_init(&s, &(struct service_config){ 0 }, &fake, NULL), 0);
                        service_done(&s);
                        struct service_config c = cfg(SERVICE_RESTART_ALWAYS);
                        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
                        s.state = (enum service_state)st;
                        s.pid = s.pgid = 42;
                        s.starts = 1;
                        service_dispatch(&s, (enum service_event)ev, &d);
                        cr_expect_eq(s.state, expect[st][ev], "%s x %s -> %s, want %s",
                                     service_state_to_string(st), service_event_to_string(ev),
                                     service_state_to_string(s.state), service_state_to_string(expect[st][ev]));
                        cr_expect_eq(w.panics, 0);
                        service_done(&s);
                }
}

Test(service, out_of_range_panics) {
        struct service s;
        struct service_config c = cfg(SERVICE_RESTART_NO);

        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
        s.state = (enum service_state)99;
        service_dispatch(&s, SERVICE_EV_START, NULL);
        cr_assert_eq(w.panics, 1);
        service_dispatch(&s, (enum service_event)-3, NULL);
        cr_assert_eq(w.panics, 2);
        service_done(&s);
}

Test(service, crash_loop_backoff_and_give_up) {
        struct service s;
        struct service_config c = cfg(SERVICE_RESTART_ON_FAILURE);
        uint64_t want = 100000;

        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
        service_dispatch(&s, SERVICE_EV_START, NULL);
        cr_assert_eq(s.state, SERVICE_STARTING);
        cr_assert_eq(w.timer_delay, c.start_grace_usec);
        for (int i = 0; i < 5; i++) {
                w.now += 1000; /* exits 1 ms after start: a failed start */
                service_dispatch(&s, SERVICE_EV_EXIT, &exit3);
                cr_assert_eq(s.state, SERVICE_BACKOFF, "round %d", i);
                cr_assert_eq(w.timer_delay, want, "round %d: %llu", i, (unsigned long long)w.timer_delay);
                want *= 2;
                w.now += w.timer_delay;
                service_dispatch(&s, SERVICE_EV_TIMEOUT, NULL);
                cr_assert_eq(s.state, SERVICE_STARTING);
        }
        service_dispatch(&s, SERVICE_EV_EXIT, &exit3);
        cr_assert_eq(s.state, SERVICE_FAILED);
        cr_assert_eq(s.exit_code, 3);
        cr_assert_eq(w.spawns, 6);
        service_done(&s);
}

Test(service, exit_after_grace_resets_backoff) {
        struct service s;
        struct service_config c = cfg(SERVICE_RESTART_ALWAYS);

        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
        service_dispatch(&s, SERVICE_EV_START, NULL);
        service_dispatch(&s, SERVICE_EV_EXIT, &exit3);
        service_dispatch(&s, SERVICE_EV_TIMEOUT, NULL);
        service_dispatch(&s, SERVICE_EV_EXIT, &exit3);
        cr_assert_eq(w.timer_delay, 200000);
        service_dispatch(&s, SERVICE_EV_TIMEOUT, NULL);
        service_dispatch(&s, SERVICE_EV_TIMEOUT, NULL); /* grace over */
        cr_assert_eq(s.state, SERVICE_RUNNING);
        service_dispatch(&s, SERVICE_EV_EXIT, &exit0);
        cr_assert_eq(s.state, SERVICE_BACKOFF);
        cr_assert_eq(w.timer_delay, 100000);
        service_done(&s);
}

Test(service, policies) {
        cr_assert(!service_policy_restarts(SERVICE_RESTART_NO, 1));
        cr_assert(!service_policy_restarts(SERVICE_RESTART_ON_FAILURE, 0));
        cr_assert(service_policy_restarts(SERVICE_RESTART_ON_FAILURE, 143));
        cr_assert(service_policy_restarts(SERVICE_RESTART_ALWAYS, 0));
        cr_assert_eq(service_restart_from_string("on-failure"), SERVICE_RESTART_ON_FAILURE);
        cr_assert_eq(service_restart_from_string("sometimes"), -EINVAL);
}

Test(service, exit_codes) {
        cr_assert_eq(service_exit_code(0), 0);
        cr_assert_eq(service_exit_code(42 << 8), 42);
        cr_assert_eq(service_exit_code(SIGKILL), 137);
        cr_assert_eq(service_exit_code(SIGSEGV | 0x80), 139); /* core dumped */
}

Test(service, exec_failure_is_not_restarted) {
        struct service s;
        struct service_config c = cfg(SERVICE_RESTART_ALWAYS);

        w.exec_errno = ENOENT;
        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
        service_dispatch(&s, SERVICE_EV_START, NULL);
        service_dispatch(&s, SERVICE_EV_EXIT, &(struct service_event_data){ .status = 127 << 8 });
        cr_assert_eq(s.state, SERVICE_DONE);
        cr_assert_eq(s.exit_code, GR_EXIT_NOTFOUND);
        service_done(&s);
}

Test(service, spawn_failure_backs_off) {
        struct service s;
        struct service_config c = cfg(SERVICE_RESTART_ALWAYS);

        w.spawn_err = -EAGAIN;
        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
        service_dispatch(&s, SERVICE_EV_START, NULL);
        cr_assert_eq(s.state, SERVICE_BACKOFF);
        cr_assert_eq(s.exit_code, GR_EXIT_SYSTEM);
        service_done(&s);
        cr_assert_eq(service_init(&s, &(struct service_config){ .name = "n", .argv = argv_true }, &fake, NULL), 0);
        service_dispatch(&s, SERVICE_EV_START, NULL);
        cr_assert_eq(s.state, SERVICE_DONE);
        service_done(&s);
}

Test(service, stop_sequence_with_leftovers) {
        struct service s;
        struct service_config c = cfg(SERVICE_RESTART_ALWAYS);

        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
        service_dispatch(&s, SERVICE_EV_START, NULL);
        service_dispatch(&s, SERVICE_EV_STOP, &(struct service_event_data){ .signal = SIGTERM, .group = true });
        cr_assert_eq(s.state, SERVICE_STOPPING);
        cr_assert_eq(w.last_kill_target, -100);
        cr_assert_eq(w.last_kill_sig, SIGTERM);
        cr_assert_eq(w.timer_delay, c.stop_timeout_usec);
        service_dispatch(&s, SERVICE_EV_TIMEOUT, NULL);
        cr_assert_eq(s.state, SERVICE_KILLING);
        cr_assert_eq(w.last_kill_sig, SIGKILL);
        w.group_alive = true;
        service_dispatch(&s, SERVICE_EV_EXIT, &(struct service_event_data){ .status = SIGKILL });
        cr_assert_eq(s.state, SERVICE_CLEANUP_KILL);
        w.group_alive = false;
        service_dispatch(&s, SERVICE_EV_GROUP_EMPTY, NULL);
        cr_assert_eq(s.state, SERVICE_DONE, "stopped on request: no restart");
        cr_assert_eq(s.exit_code, 137);
        service_done(&s);
}

Test(service, leftovers_of_a_clean_exit_get_the_stop_signal) {
        struct service s;
        struct service_config c = cfg(SERVICE_RESTART_NO);

        c.stop_signal = SIGQUIT;
        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
        service_dispatch(&s, SERVICE_EV_START, NULL);
        w.group_alive = true;
        service_dispatch(&s, SERVICE_EV_EXIT, &exit0);
        cr_assert_eq(s.state, SERVICE_CLEANUP);
        cr_assert_eq(w.last_kill_target, -100);
        cr_assert_eq(w.last_kill_sig, SIGQUIT);
        cr_assert(w.timer_armed);
        service_dispatch(&s, SERVICE_EV_GROUP_EMPTY, NULL);
        cr_assert_eq(s.state, SERVICE_DONE);
        cr_assert(!w.timer_armed);
        service_done(&s);
}

Test(service, stop_intent_only_prevents_restart) {
        struct service s;
        struct service_config c = cfg(SERVICE_RESTART_ALWAYS);

        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
        service_dispatch(&s, SERVICE_EV_START, NULL);
        service_dispatch(&s, SERVICE_EV_STOP, &(struct service_event_data){ .signal = 0 });
        cr_assert_eq(s.state, SERVICE_STARTING);
        cr_assert_eq(w.kills, 0);
        service_dispatch(&s, SERVICE_EV_EXIT, &exit0);
        cr_assert_eq(s.state, SERVICE_DONE);
        service_done(&s);
}

Test(service, backoff_math) {
        const uint32_t mid = 1u << 31;

        cr_assert_eq(service_backoff_usec(100, 1000, 0, 1, mid), 100);
        cr_assert_eq(service_backoff_usec(100, 1000, 0, 2, mid), 200);
        cr_assert_eq(service_backoff_usec(100, 1000, 0, 4, mid), 800);
        cr_assert_eq(service_backoff_usec(100, 1000, 0, 5, mid), 1000);
        cr_assert_eq(service_backoff_usec(100, 1000, 0, 4000000000u, mid), 1000, "no overflow");
        cr_assert_eq(service_backoff_usec(100, 50, 0, 3, mid), 100, "max below initial: initial");
        cr_assert_eq(service_backoff_usec(1000, 1000, 20, 1, 0), 800);
        cr_assert_eq(service_backoff_usec(1000, 1000, 20, 1, mid), 1000);
        cr_assert_leq(service_backoff_usec(1000, 1000, 20, 1, UINT32_MAX), 1200);
        cr_assert_geq(service_backoff_usec(1000, 1000, 20, 1, UINT32_MAX), 1199);
        cr_assert_eq(service_backoff_usec(UINT64_MAX / 2, UINT64_MAX / 2, 0, 3, mid), UINT64_MAX / 2);
}

Test(service, budget_window) {
        struct service s;
        struct service_config c = cfg(SERVICE_RESTART_ALWAYS);

        c.restart_budget = 2;
        c.restart_window_usec = 1000;
        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
        cr_assert(service_budget_allows(&s, 0));
        s.restart_ring[0] = 10;
        s.restart_ring[1] = 20;
        s.ring_len = 2;
        cr_assert(!service_budget_allows(&s, 500));
        cr_assert(service_budget_allows(&s, 1010), "the first restart left the window");
        service_done(&s);
        c.restart_budget = 0;
        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
        cr_assert(service_budget_allows(&s, 0), "0: unlimited");
        service_done(&s);
        c.restart_budget = 1000000;
        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
        cr_assert_eq(s.cfg.restart_budget, SERVICE_BUDGET_MAX, "clamped");
        service_done(&s);
}

/* A finding's restart: stopped with the stop signal, then started again
 * even under restart: no, and counted against the budget. */
Test(service, restart_event_restarts_whatever_the_policy) {
        struct service s;
        struct service_config c = cfg(SERVICE_RESTART_NO);

        c.restart_budget = 1;
        cr_assert_eq(service_init(&s, &c, &fake, NULL), 0);
        service_dispatch(&s, SERVICE_EV_START, NULL);
        cr_assert_eq(s.state, SERVICE_RUNNING);
        service_dispatch(&s, SERVICE_EV_RESTART, NULL);
        cr_assert_eq(s.state, SERVICE_STOPPING);
        cr_expect_eq(w.last_kill_sig, SIGTERM);
        service_dispatch(&s, SERVICE_EV_EXIT, &(struct service_event_data){ .status = SIGTERM });
        cr_expect_eq(s.state, SERVICE_BACKOFF, "restarted although restart: no");
        cr_expect(!s.stop_requested);
        service_dispatch(&s, SERVICE_EV_TIMEOUT, NULL);
        cr_expect_eq(s.state, SERVICE_RUNNING);
        /* The budget (1) is spent: the next one gives up. */
        service_dispatch(&s, SERVICE_EV_RESTART, NULL);
        service_dispatch(&s, SERVICE_EV_EXIT, &(struct service_event_data){ .status = SIGTERM });
        cr_expect_eq(s.state, SERVICE_FAILED);
        service_done(&s);
}
