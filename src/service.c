/* service.c: the service state machine. See service.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "gorral/exitcodes.h"
#include "gorral/log.h"
#include "gorral/service.h"
#include "gorral/spawn.h"

typedef void (*service_handler)(struct service *s, const struct service_event_data *d);

static const char *const state_names[_SERVICE_STATE_MAX] = {
        [SERVICE_IDLE] = "idle",           [SERVICE_STARTING] = "starting",
        [SERVICE_RUNNING] = "running",     [SERVICE_STOPPING] = "stopping",
        [SERVICE_KILLING] = "killing",     [SERVICE_CLEANUP] = "cleanup",
        [SERVICE_CLEANUP_KILL] = "cleanup-kill", [SERVICE_BACKOFF] = "backoff",
        [SERVICE_DONE] = "done",           [SERVICE_FAILED] = "failed",
};
static const char *const event_names[_SERVICE_EVENT_MAX] = {
        [SERVICE_EV_START] = "start", [SERVICE_EV_EXIT] = "exit", [SERVICE_EV_TIMEOUT] = "timeout",
        [SERVICE_EV_STOP] = "stop",   [SERVICE_EV_GROUP_EMPTY] = "group-empty",
        [SERVICE_EV_RESTART] = "restart",
};
static const char *const restart_names[_SERVICE_RESTART_MAX] = {
        [SERVICE_RESTART_NO] = "no", [SERVICE_RESTART_ON_FAILURE] = "on-failure",
        [SERVICE_RESTART_ALWAYS] = "always",
};

const char *service_state_to_string(enum service_state s) {
        return s >= 0 && s < _SERVICE_STATE_MAX ? state_names[s] : "invalid";
}
const char *service_event_to_string(enum service_event e) {
        return e >= 0 && e < _SERVICE_EVENT_MAX ? event_names[e] : "invalid";
}
const char *service_restart_to_string(enum service_restart r) {
        return r >= 0 && r < _SERVICE_RESTART_MAX ? restart_names[r] : "invalid";
}
int service_restart_from_string(const char *s) {
        for (int i = 0; i < _SERVICE_RESTART_MAX; i++)
                if (strcmp(s, restart_names[i]) == 0)
                        return i;
        return -EINVAL;
}

int service_init(struct service *s, const struct service_config *cfg, const struct service_ops *ops, void *userdata) {
        *s = (struct service){ .cfg = *cfg, .ops = ops, .userdata = userdata, .state = SERVICE_IDLE };
        if (s->cfg.restart_budget > SERVICE_BUDGET_MAX)
                s->cfg.restart_budget = SERVICE_BUDGET_MAX;
        if (s->cfg.restart_budget > 0) {
                s->restart_ring = calloc(s->cfg.restart_budget, sizeof *s->restart_ring);
                if (!s->restart_ring)
                        return -ENOMEM;
        }
        return 0;
}

int service_set_policy(struct service *s, const struct service_config *cfg) {
        unsigned budget = cfg->restart_budget > SERVICE_BUDGET_MAX ? SERVICE_BUDGET_MAX : cfg->restart_budget;
        uint64_t *ring = NULL;
        unsigned len = 0;

        if (budget > 0) {
                ring = calloc(budget, sizeof *ring);
                if (!ring)
                        return -ENOMEM;
                /* Keep the most recent restarts that still fit. */
                for (unsigned i = 0; i < s->ring_len && len < budget; i++) {
                        unsigned k = (s->ring_head + s->cfg.restart_budget - 1 - i) % s->cfg.restart_budget;

                        ring[budget - 1 - len++] = s->restart_ring[k];
                }
                memmove(ring, ring + (budget - len), len * sizeof *ring);
        }
        free(s->restart_ring);
        s->restart_ring = ring;
        s->ring_len = len;
        s->ring_head = budget ? len % budget : 0;
        s->cfg.restart = cfg->restart;
        s->cfg.stop_signal = cfg->stop_signal;
        s->cfg.stop_timeout_usec = cfg->stop_timeout_usec;
        s->cfg.backoff_initial_usec = cfg->backoff_initial_usec;
        s->cfg.backoff_max_usec = cfg->backoff_max_usec;
        s->cfg.jitter_pct = cfg->jitter_pct;
        s->cfg.restart_budget = budget;
        s->cfg.restart_window_usec = cfg->restart_window_usec;
        s->cfg.start_grace_usec = cfg->start_grace_usec;
        return 0;
}

void service_done(struct service *s) {
        free(s->restart_ring);
        s->restart_ring = NULL;
}

bool service_is_terminal(const struct service *s) {
        return s->state == SERVICE_DONE || s->state == SERVICE_FAILED;
}

bool service_has_main(const struct service *s) {
        return s->state == SERVICE_STARTING || s->state == SERVICE_RUNNING ||
               s->state == SERVICE_STOPPING || s->state == SERVICE_KILLING;
}

int service_exit_code(int status) {
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return GR_EXIT_SIGNAL_BASE + WTERMSIG(status);
        return GR_EXIT_SOFTWARE;
}

bool service_policy_restarts(enum service_restart policy, int exit_code) {
        switch (policy) {
        case SERVICE_RESTART_ALWAYS:
                return true;
        case SERVICE_RESTART_ON_FAILURE:
                return exit_code != 0;
        default:
                return false;
        }
}

uint64_t service_backoff_usec(uint64_t initial_usec, uint64_t max_usec, unsigned jitter_pct,
                              unsigned failures, uint32_t rnd) {
        uint64_t base = initial_usec, span, delta;

        if (max_usec < initial_usec)
                max_usec = initial_usec;
        /* Doubling until the cap, never shifting past it: no overflow for
         * any failure count. */
        for (unsigned i = 1; i < failures && base < max_usec; i++)
                base = base > max_usec / 2 ? max_usec : base * 2;
        if (jitter_pct > 100)
                jitter_pct = 100;
        span = base / 100 * jitter_pct + base % 100 * jitter_pct / 100;
        /* Integer maths (no double rounding at large values): delta is
         * uniform in [0, 2 x span), the result in [base - span, base + span). */
        delta = (uint64_t)(((unsigned __int128)span * 2 * rnd) >> 32);
        base -= span;
        return delta > UINT64_MAX - base ? UINT64_MAX : base + delta;
}

bool service_budget_allows(const struct service *s, uint64_t now) {
        unsigned recent = 0;

        if (s->cfg.restart_budget == 0)
                return true;
        for (unsigned i = 0; i < s->ring_len; i++)
                if (s->restart_ring[i] + s->cfg.restart_window_usec > now)
                        recent++;
        return recent < s->cfg.restart_budget;
}

static void record_restart(struct service *s, uint64_t now) {
        if (s->cfg.restart_budget == 0)
                return;
        s->restart_ring[s->ring_head] = now;
        s->ring_head = (s->ring_head + 1) % s->cfg.restart_budget;
        if (s->ring_len < s->cfg.restart_budget)
                s->ring_len++;
}

static void set_state(struct service *s, enum service_state st) {
        if (s->state != st)
                log_event(LOG_LEVEL_DEBUG, "state", "service", s->cfg.name, "from", state_names[s->state],
                          "to", state_names[st], NULL);
        s->state = st;
}

static void arm(struct service *s, uint64_t delay_usec) {
        int r = s->ops->timer_arm(s, delay_usec);

        /* Without its timer a service would wait forever: say so. The loop
         * heap only fails on ENOMEM or its bound. */
        if (r < 0)
                log_msg(LOG_LEVEL_ERROR, r, "service %s: cannot arm timer, proceeding without it", s->cfg.name);
}

static void send(struct service *s, pid_t target, int sig) {
        int r = s->ops->kill(s, target, sig);

        if (r < 0 && r != -ESRCH)
                log_msg(LOG_LEVEL_WARN, r, "service %s: kill(%d, %s) failed, ignoring", s->cfg.name, (int)target,
                        signal_to_name(sig));
}

/* Main process and group are gone: restart, or stop for good. */
static void finish(struct service *s) {
        uint64_t now = s->ops->now_usec(s), delay;

        s->ops->timer_disarm(s);
        bool forced = s->restart_requested && !s->stop_requested;

        s->restart_requested = false;
        if (!forced && (s->stop_requested || s->exec_errno ||
                        !service_policy_restarts(s->cfg.restart, s->exit_code))) {
                set_state(s, SERVICE_DONE);
                return;
        }
        if (!service_budget_allows(s, now)) {
                char window[32];

                snprintf(window, sizeof window, "%.3fs", (double)s->cfg.restart_window_usec / 1e6);
                log_event(LOG_LEVEL_ERROR, "give_up", "service", s->cfg.name,
                          "restarts", LF_U64(s->cfg.restart_budget), "window", window,
                          "status", LF_INT(s->exit_code),
                          "msg", "restart budget exhausted, giving up; exiting with the last status", NULL);
                set_state(s, SERVICE_FAILED);
                return;
        }
        delay = service_backoff_usec(s->cfg.backoff_initial_usec, s->cfg.backoff_max_usec, s->cfg.jitter_pct,
                                     s->failures ? s->failures : 1, s->ops->random(s));
        log_event(LOG_LEVEL_INFO, "backoff", "service", s->cfg.name, "delay_ms", LF_MS(delay),
                  "failures", LF_U64(s->failures), "status", LF_INT(s->exit_code), NULL);
        set_state(s, SERVICE_BACKOFF);
        arm(s, delay);
}

/* Log one line for the exit of the main process. */
static void log_exit(const struct service *s, pid_t pid, int status, uint64_t runtime_usec, bool failed_start) {
        if (WIFSIGNALED(status))
                log_event(LOG_LEVEL_INFO, "exit", "service", s->cfg.name, "pid", LF_INT(pid),
                          "signal", signal_to_name(WTERMSIG(status)),
                          "core", WCOREDUMP(status) ? "true" : "false", "status", LF_INT(s->exit_code),
                          "runtime_ms", LF_MS(runtime_usec), "failed_start", failed_start ? "true" : "false",
                          NULL);
        else
                log_event(LOG_LEVEL_INFO, "exit", "service", s->cfg.name, "pid", LF_INT(pid),
                          "code", LF_INT(s->exit_code), "status", LF_INT(s->exit_code),
                          "runtime_ms", LF_MS(runtime_usec), "failed_start", failed_start ? "true" : "false",
                          NULL);
}

/* The main process is gone; wait for the rest of its group, if any. */
static void main_gone(struct service *s, const struct service_event_data *d, bool failed_start) {
        uint64_t now = s->ops->now_usec(s);
        pid_t pid = s->pid;
        enum service_state was = s->state;

        s->pid = 0;
        s->have_status = true;
        s->last_status = d->status;
        s->exit_code = s->exec_errno ? spawn_exit_status(s->exec_errno) : service_exit_code(d->status);
        s->failures = failed_start ? s->failures + 1 : 1;
        log_exit(s, pid, d->status, now - s->started_usec, failed_start);

        if (!s->ops->group_alive(s, s->pgid)) {
                finish(s);
                return;
        }
        if (was == SERVICE_KILLING) {
                set_state(s, SERVICE_CLEANUP_KILL);
                return;
        }
        if (was == SERVICE_STOPPING) {
                /* Keep the stop deadline already running. */
                set_state(s, SERVICE_CLEANUP);
                return;
        }
        /* Leftovers of a process that exited by itself: stop them the same
         * way, so a restart never runs next to the previous generation. */
        log_event(LOG_LEVEL_INFO, "cleanup", "service", s->cfg.name, "pgid", LF_INT(s->pgid),
                  "signal", signal_to_name(s->cfg.stop_signal), NULL);
        send(s, -s->pgid, s->cfg.stop_signal);
        s->ops->timer_disarm(s);
        set_state(s, SERVICE_CLEANUP);
        arm(s, s->cfg.stop_timeout_usec);
}

/* Handlers: the cells of the table. */

static void h_nop(struct service *s, const struct service_event_data *d) {
        (void)s;
        (void)d;
}

static void h_start(struct service *s, const struct service_event_data *d) {
        pid_t pid = 0;
        int exec_errno = 0, r;
        bool restart = s->starts > 0;

        (void)d;
        s->ops->timer_disarm(s);
        if (restart) {
                record_restart(s, s->ops->now_usec(s));
                log_event(LOG_LEVEL_INFO, "restart", "service", s->cfg.name, "attempt", LF_U64(s->starts),
                          NULL);
        }
        s->starts++;
        s->exec_errno = 0;
        r = s->ops->spawn(s, &pid, &exec_errno);
        s->started_usec = s->ops->now_usec(s);
        if (r < 0) {
                log_msg(LOG_LEVEL_ERROR, r, "service %s: cannot start '%s'", s->cfg.name, s->cfg.argv[0]);
                s->exit_code = GR_EXIT_SYSTEM;
                s->have_status = false;
                s->failures++;
                s->pid = 0;
                finish(s);
                return;
        }
        s->pid = s->pgid = pid;
        s->exec_errno = exec_errno;
        log_event(LOG_LEVEL_INFO, "spawn", "service", s->cfg.name, "pid", LF_INT(pid), "argv0", s->cfg.argv[0],
                  "start", LF_U64(s->starts), NULL);
        if (exec_errno)
                log_msg(LOG_LEVEL_ERROR, exec_errno, "service %s: cannot execute '%s' (exit status %d)",
                        s->cfg.name, s->cfg.argv[0], spawn_exit_status(exec_errno));
        if (s->cfg.restart == SERVICE_RESTART_NO) {
                /* Without restarts nothing hangs on the start grace: skip
                 * its timer, so gorral makes no wakeup a second after the
                 * start (the exit log still says whether it was early). */
                set_state(s, SERVICE_RUNNING);
                return;
        }
        set_state(s, SERVICE_STARTING);
        arm(s, s->cfg.start_grace_usec);
}

static void h_exit_starting(struct service *s, const struct service_event_data *d) {
        main_gone(s, d, true);
}

static void h_exit_running(struct service *s, const struct service_event_data *d) {
        /* Under restart no an early exit is only said to be a failed start
         * when it failed: a one-shot task that ends at once with 0 did its
         * job. */
        bool clean = WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0 && !s->exec_errno;

        main_gone(s, d, s->cfg.restart == SERVICE_RESTART_NO && !clean &&
                                s->ops->now_usec(s) - s->started_usec < s->cfg.start_grace_usec);
}

static void h_exit_stopping(struct service *s, const struct service_event_data *d) {
        /* Stopped on request: not a failed start, whatever the timing, and
         * never restarted (unless the stop was a restart's). */
        if (!s->restart_requested)
                s->stop_requested = true;
        main_gone(s, d, false);
}

/* A restart asked for while it runs: the stop of h_stop_main without
 * "never restart". */
static void h_restart_main(struct service *s, const struct service_event_data *d) {
        s->restart_requested = true;
        send(s, d->group ? -s->pgid : s->pid, d->signal > 0 ? d->signal : s->cfg.stop_signal);
        s->ops->timer_disarm(s);
        set_state(s, SERVICE_STOPPING);
        arm(s, s->cfg.stop_timeout_usec);
}

static void h_grace_over(struct service *s, const struct service_event_data *d) {
        (void)d;
        s->failures = 0;
        set_state(s, SERVICE_RUNNING);
}

/* Stop a running main process. */
static void h_stop_main(struct service *s, const struct service_event_data *d) {
        s->stop_requested = true;
        if (d->signal <= 0)
                return;
        send(s, d->group ? -s->pgid : s->pid, d->signal);
        s->ops->timer_disarm(s);
        set_state(s, SERVICE_STOPPING);
        arm(s, s->cfg.stop_timeout_usec);
}

/* Already stopping: pass a further signal on (a second Ctrl-C). */
static void h_stop_again(struct service *s, const struct service_event_data *d) {
        s->stop_requested = true;
        if (d->signal > 0 && s->pid > 0)
                send(s, d->group ? -s->pgid : s->pid, d->signal);
}

/* Main gone, leftovers pending: just never restart. */
static void h_stop_flag(struct service *s, const struct service_event_data *d) {
        (void)d;
        s->stop_requested = true;
}

/* Nothing running: stopping means done. */
static void h_stop_idle(struct service *s, const struct service_event_data *d) {
        (void)d;
        s->stop_requested = true;
        s->ops->timer_disarm(s);
        set_state(s, SERVICE_DONE);
}

static void h_kill_main(struct service *s, const struct service_event_data *d) {
        (void)d;
        log_event(LOG_LEVEL_WARN, "kill", "service", s->cfg.name, "pgid", LF_INT(s->pgid),
                  "msg", "stop timeout reached, sending SIGKILL", NULL);
        send(s, -s->pgid, SIGKILL);
        set_state(s, SERVICE_KILLING);
}

static void h_kill_cleanup(struct service *s, const struct service_event_data *d) {
        (void)d;
        log_event(LOG_LEVEL_WARN, "kill", "service", s->cfg.name, "pgid", LF_INT(s->pgid),
                  "msg", "stop timeout reached, sending SIGKILL to what is left of the group", NULL);
        send(s, -s->pgid, SIGKILL);
        set_state(s, SERVICE_CLEANUP_KILL);
}

static void h_group_empty(struct service *s, const struct service_event_data *d) {
        (void)d;
        finish(s);
}

static void h_restart_now(struct service *s, const struct service_event_data *d) {
        h_start(s, d);
}

/* A start from a terminal state (a future control command): fresh
 * budget and backoff. */
static void h_start_fresh(struct service *s, const struct service_event_data *d) {
        s->stop_requested = false;
        s->failures = 0;
        s->ring_len = s->ring_head = 0;
        h_start(s, d);
}

#define S(x) [SERVICE_##x]
#define E(x) [SERVICE_EV_##x]
static const service_handler table[_SERVICE_STATE_MAX][_SERVICE_EVENT_MAX] = {
        S(IDLE) = { E(START) = h_start, E(EXIT) = h_nop, E(TIMEOUT) = h_nop,
                    E(STOP) = h_stop_idle, E(GROUP_EMPTY) = h_nop, E(RESTART) = h_nop },
        S(STARTING) = { E(START) = h_nop, E(EXIT) = h_exit_starting, E(TIMEOUT) = h_grace_over,
                        E(STOP) = h_stop_main, E(GROUP_EMPTY) = h_nop, E(RESTART) = h_restart_main },
        S(RUNNING) = { E(START) = h_nop, E(EXIT) = h_exit_running, E(TIMEOUT) = h_nop,
                       E(STOP) = h_stop_main, E(GROUP_EMPTY) = h_nop, E(RESTART) = h_restart_main },
        S(STOPPING) = { E(START) = h_nop, E(EXIT) = h_exit_stopping, E(TIMEOUT) = h_kill_main,
                        E(STOP) = h_stop_again, E(GROUP_EMPTY) = h_nop, E(RESTART) = h_nop },
        S(KILLING) = { E(START) = h_nop, E(EXIT) = h_exit_stopping, E(TIMEOUT) = h_nop,
                       E(STOP) = h_stop_again, E(GROUP_EMPTY) = h_nop, E(RESTART) = h_nop },
        S(CLEANUP) = { E(START) = h_nop, E(EXIT) = h_nop, E(TIMEOUT) = h_kill_cleanup,
                       E(STOP) = h_stop_flag, E(GROUP_EMPTY) = h_group_empty, E(RESTART) = h_nop },
        S(CLEANUP_KILL) = { E(START) = h_nop, E(EXIT) = h_nop, E(TIMEOUT) = h_nop,
                            E(STOP) = h_stop_flag, E(GROUP_EMPTY) = h_group_empty, E(RESTART) = h_nop },
        S(BACKOFF) = { E(START) = h_restart_now, E(EXIT) = h_nop, E(TIMEOUT) = h_restart_now,
                       E(STOP) = h_stop_idle, E(GROUP_EMPTY) = h_nop, E(RESTART) = h_nop },
        S(DONE) = { E(START) = h_start_fresh, E(EXIT) = h_nop, E(TIMEOUT) = h_nop,
                    E(STOP) = h_nop, E(GROUP_EMPTY) = h_nop, E(RESTART) = h_nop },
        S(FAILED) = { E(START) = h_start_fresh, E(EXIT) = h_nop, E(TIMEOUT) = h_nop,
                      E(STOP) = h_nop, E(GROUP_EMPTY) = h_nop, E(RESTART) = h_nop },
};
#undef S
#undef E

void service_dispatch(struct service *s, enum service_event ev, const struct service_event_data *data) {
        static const struct service_event_data none = { 0 };

        /* Out-of-range values cannot come from the supervisor: memory is
         * corrupt. Never index out of the table; hand over to panic. */
        if ((unsigned)s->state >= _SERVICE_STATE_MAX || (unsigned)ev >= _SERVICE_EVENT_MAX) {
                s->ops->panic(s, "service state or event out of range");
                return;
        }
        log_event(LOG_LEVEL_DEBUG, "event", "service", s->cfg.name, "state", state_names[s->state],
                  "on", event_names[ev], NULL);
        table[s->state][ev](s, data ? data : &none);
}
