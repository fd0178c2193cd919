/* supervisor.c: the one context. See supervisor.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "gorral/exitcodes.h"
#include "gorral/log.h"
#include "gorral/spawn.h"
#include "gorral/supervisor.h"

extern char **environ;

/* Polling a group whose members are not our children (no SIGCHLD will
 * tell us): only while a service waits for its leftovers, from 10 ms
 * doubling to 1 s. Never while idle. */
#define GROUP_POLL_MIN_USEC 10000ULL
#define GROUP_POLL_MAX_USEC 1000000ULL

void supervisor_options_init(struct supervisor_options *o) {
        memset(o, 0, sizeof *o);
        signals_config_init(&o->signals);
        limits_options_init(&o->limits);
        for (unsigned i = 0; i < ELEMENTSOF(o->remap_exit); i++)
                o->remap_exit[i] = (uint8_t)i;
}

static int parse_code(const char *s, size_t n, int *ret) {
        uint64_t v;

        if (parse_u64_n(s, n, &v) < 0 || v > 255)
                return -EINVAL;
        *ret = (int)v;
        return 0;
}

int supervisor_parse_remap(struct supervisor_options *o, const char *spec, const char **reterr_reason) {
        const char *colon = strchr(spec, ':');
        int from, to;

        if (!colon) {
                *reterr_reason = "expected FROM:TO (exit codes 0-255)";
                return -EINVAL;
        }
        if (parse_code(spec, (size_t)(colon - spec), &from) < 0) {
                *reterr_reason = "FROM is not an exit code 0-255";
                return -EINVAL;
        }
        if (parse_code(colon + 1, strlen(colon + 1), &to) < 0) {
                *reterr_reason = "TO is not an exit code 0-255";
                return -EINVAL;
        }
        o->remap_exit[from] = (uint8_t)to;
        return 0;
}

int supervisor_remap_exit(const struct supervisor_options *o, int code) {
        return code >= 0 && code <= 255 ? o->remap_exit[code] : code;
}

/* The service ops: the real world. */

static struct supervisor *sup_of(struct service *svc) {
        return svc->userdata;
}

static void on_reaped(pid_t pid, int status, void *userdata);

static int op_spawn(struct service *svc, pid_t *ret_pid, int *ret_exec_errno) {
        struct supervisor *s = sup_of(svc);
        struct spawn_params p = {
                .argv = svc->cfg.argv,
                .sigmask = &s->orig_mask,
                .keep_ignored = &s->keep_ignored,
                .setsid = s->opt.setsid,
                .take_tty = s->take_tty,
                .pdeathsig = s->opt.pdeathsig,
        };
        char **env = NULL;
        struct spawn_result res;
        int r;

        /* Limits are read again for every start: the cgroup may have been
         * resized since the last one. Fail-open: without them the child
         * still runs, with the inherited environment. */
        if (!s->opt.no_limits) {
                unsigned nerr = 0;

                r = limits_prepare_env(&s->opt.limits, svc->cfg.argv[0], &env, &nerr);
                if (r < 0) {
                        log_msg(LOG_LEVEL_WARN, r, "cannot compute GOMAXPROCS/GOMEMLIMIT, proceeding with the inherited environment");
                        env = NULL;
                } else if (nerr > 0 && s->opt.limits.strict) {
                        /* A limit file went bad since the first start
                         * (cmd-run refuses that one): a failed start. */
                        limits_env_free(env);
                        log_msg(LOG_LEVEL_ERROR, 0, "--strict: %u malformed limit file(s), not starting '%s'", nerr,
                                svc->cfg.argv[0]);
                        return -EBADMSG;
                }
        }
        p.envp = env ? env : environ;
        r = spawn_process(&p, &res);
        limits_env_free(env);
        if (r < 0)
                return r;
        r = reaper_watch(&s->reaper, res.pid, on_reaped, svc);
        if (r < 0) {
                /* Unroutable exit: better no service than a lost one. The
                 * child is reaped as an orphan. */
                (void)spawn_kill(res.pid, SIGKILL);
                return r;
        }
        *ret_pid = res.pid;
        *ret_exec_errno = res.err;
        return 0;
}

static int op_kill(struct service *svc, pid_t target, int sig) {
        log_event(LOG_LEVEL_DEBUG, "signal", "service", svc->cfg.name, "target", LF_INT(target),
                  "signal", signal_to_name(sig), NULL);
        return spawn_kill(target, sig);
}

static bool op_group_alive(struct service *svc, pid_t pgid) {
        (void)svc;
        if (pgid <= 1)
                return false;
        /* EPERM: a member exists but changed credentials; still alive. */
        int r = spawn_kill(-pgid, 0);

        return r == 0 || r == -EPERM;
}

static void service_timer_cb(struct loop *l, void *userdata);

static int op_timer_arm(struct service *svc, uint64_t delay_usec) {
        return loop_timer_arm_in(sup_of(svc)->loop, &svc->timer, delay_usec);
}

static void op_timer_disarm(struct service *svc) {
        loop_timer_disarm(sup_of(svc)->loop, &svc->timer);
}

static uint64_t op_now(struct service *svc) {
        (void)svc;
        return now_usec();
}

/* xorshift64*: jitter only needs to spread restarts, not secrecy. */
static uint32_t op_random(struct service *svc) {
        struct supervisor *s = sup_of(svc);

        s->rng ^= s->rng >> 12;
        s->rng ^= s->rng << 25;
        s->rng ^= s->rng >> 27;
        return (uint32_t)((s->rng * 2685821657736338717ULL) >> 32);
}

static void op_panic(struct service *svc, const char *why) {
        supervisor_panic(sup_of(svc), why);
}

static const struct service_ops real_ops = {
        .spawn = op_spawn,
        .kill = op_kill,
        .group_alive = op_group_alive,
        .timer_arm = op_timer_arm,
        .timer_disarm = op_timer_disarm,
        .now_usec = op_now,
        .random = op_random,
        .panic = op_panic,
};

void supervisor_panic(struct supervisor *s, const char *why) {
        log_event(LOG_LEVEL_ERROR, "panic", "msg", why, NULL);
        s->panicked = true;
        for (size_t i = 0; i < s->n_services; i++)
                if (s->services[i].pgid > 1)
                        (void)spawn_kill(-s->services[i].pgid, SIGKILL);
        loop_quit(s->loop, GR_EXIT_SOFTWARE);
}

static bool waiting_for_group(const struct service *svc) {
        return svc->state == SERVICE_CLEANUP || svc->state == SERVICE_CLEANUP_KILL;
}

/* After anything that may end a service: feed pending exits, check the
 * groups of services waiting for leftovers, keep the group poll timer
 * armed only while needed, and quit when every service is finished. */
static void settle(struct supervisor *s) {
        bool any_waiting = false, all_done = true;

        for (size_t i = 0; i < s->n_services; i++) {
                struct service *svc = &s->services[i];

                if (svc->exit_pending) {
                        svc->exit_pending = false;
                        service_dispatch(svc, SERVICE_EV_EXIT,
                                         &(struct service_event_data){ .status = svc->exit_pending_status });
                }
                if (waiting_for_group(svc) && !op_group_alive(svc, svc->pgid))
                        service_dispatch(svc, SERVICE_EV_GROUP_EMPTY, NULL);
                if (waiting_for_group(svc))
                        any_waiting = true;
                if (!service_is_terminal(svc))
                        all_done = false;
        }
        if (any_waiting) {
                if (!loop_timer_armed(&s->group_poll_timer)) {
                        s->group_poll_usec = GROUP_POLL_MIN_USEC;
                        (void)loop_timer_arm_in(s->loop, &s->group_poll_timer, s->group_poll_usec);
                }
        } else
                loop_timer_disarm(s->loop, &s->group_poll_timer);

        if (all_done && !loop_quitting(s->loop)) {
                const struct service *main_svc = &s->services[0];
                int code = supervisor_remap_exit(&s->opt, main_svc->exit_code);

                loop_timer_disarm(s->loop, &s->drain_timer);
                (void)reaper_reap(&s->reaper);
                log_event(LOG_LEVEL_INFO, "exit_gorral", "status", LF_INT(code),
                          "child_status", LF_INT(main_svc->exit_code),
                          "reason", main_svc->state == SERVICE_FAILED ? "gave-up" : "done", NULL);
                loop_quit(s->loop, code);
        }
}

static void service_timer_cb(struct loop *l, void *userdata) {
        struct service *svc = userdata;

        (void)l;
        service_dispatch(svc, SERVICE_EV_TIMEOUT, NULL);
        settle(sup_of(svc));
}

static void group_poll_cb(struct loop *l, void *userdata) {
        struct supervisor *s = userdata;

        (void)l;
        (void)reaper_reap(&s->reaper);
        settle(s);
        if (loop_timer_armed(&s->group_poll_timer) || loop_quitting(s->loop))
                return;
        /* settle() found someone still waiting only if it re-armed; when it
         * did not, nothing is waiting. Otherwise back off the poll. */
        for (size_t i = 0; i < s->n_services; i++)
                if (waiting_for_group(&s->services[i])) {
                        s->group_poll_usec = s->group_poll_usec * 2 > GROUP_POLL_MAX_USEC ? GROUP_POLL_MAX_USEC
                                                                                            : s->group_poll_usec * 2;
                        (void)loop_timer_arm_in(s->loop, &s->group_poll_timer, s->group_poll_usec);
                        return;
                }
}

static void on_reaped(pid_t pid, int status, void *userdata) {
        struct service *svc = userdata;

        if (svc->pid != pid)
                return; /* a stale watch: the service moved on */
        svc->exit_pending = true;
        svc->exit_pending_status = status;
}

/* Send sig (already rewritten) to every running service. */
static void forward(struct supervisor *s, int sig) {
        for (size_t i = 0; i < s->n_services; i++) {
                struct service *svc = &s->services[i];

                if (!service_has_main(svc))
                        continue;
                (void)op_kill(svc, s->opt.signals.group ? -svc->pgid : svc->pid, sig);
        }
}

/* Stop every service: sig > 0 is sent to the main process (or the group
 * with --group); sig < 0 means "the service's stop signal, to its whole
 * group" (what SIGTERM triggers); 0 only stops restarting. */
static void stop_all(struct supervisor *s, int sig) {
        for (size_t i = 0; i < s->n_services; i++) {
                struct service *svc = &s->services[i];
                struct service_event_data d = { .signal = sig, .group = s->opt.signals.group };

                if (sig < 0) {
                        d.signal = svc->cfg.stop_signal;
                        d.group = true;
                }
                service_dispatch(svc, SERVICE_EV_STOP, &d);
        }
}

/* What a received SIGTERM sends: an explicit --rewrite TERM:X wins,
 * otherwise each service's --stop-signal to its group. */
static int term_action(const struct supervisor *s) {
        int r = signals_rewrite(&s->opt.signals, SIGTERM);

        return r == SIGTERM ? -1 : r;
}

static void drain_timer_cb(struct loop *l, void *userdata) {
        struct supervisor *s = userdata;

        (void)l;
        s->draining = false;
        s->drained = true;
        log_event(LOG_LEVEL_INFO, "drain_done", "signal", "SIGTERM", NULL);
        stop_all(s, term_action(s));
        settle(s);
}

static void on_signal(struct loop *l, const struct signalfd_siginfo *si, void *userdata) {
        struct supervisor *s = userdata;
        int sig = (int)si->ssi_signo, to;
        bool first;

        (void)l;
        if (sig == SIGCHLD) {
                (void)reaper_reap(&s->reaper);
                settle(s);
                return;
        }
        /* What the kernel raised for gorral itself: not logged, since a
         * SIGPIPE from writing the log to a closed stderr would come back
         * for every line about it. */
        if (!signals_to_forward(si)) {
                if (signals_is_fault(sig))
                        log_event(LOG_LEVEL_WARN, "dropped", "signal", signal_to_name(sig), "code",
                                  LF_INT(si->ssi_code), "msg", "an advisory fault signal from the kernel, ignoring", NULL);
                return;
        }
        to = signals_rewrite(&s->opt.signals, sig);
        log_event(LOG_LEVEL_DEBUG, "received", "signal", signal_to_name(sig), "from_pid", LF_INT(si->ssi_pid),
                  "forward", to ? signal_to_name(to) : "none", NULL);
        if (to == 0)
                return;
        if (!signals_is_shutdown(sig)) {
                forward(s, to);
                return;
        }

        /* TERM or INT: from now on nothing restarts. */
        first = !s->shutting_down;
        s->shutting_down = true;
        stop_all(s, 0);
        if (sig == SIGTERM)
                to = term_action(s);
        if (s->draining) {
                /* A second TERM, or an INT, during the drain delay: the
                 * pending SIGTERM goes now; an INT follows it. */
                loop_timer_disarm(s->loop, &s->drain_timer);
                s->draining = false;
                s->drained = true;
                stop_all(s, term_action(s));
                if (sig == SIGINT)
                        stop_all(s, to);
        } else if (sig == SIGTERM && s->opt.signals.drain_delay_usec > 0 && !s->drained) {
                s->draining = true;
                log_event(LOG_LEVEL_INFO, "drain", "delay_ms", LF_MS(s->opt.signals.drain_delay_usec),
                          "msg", "delaying SIGTERM so endpoints can drain", NULL);
                if (loop_timer_arm_in(s->loop, &s->drain_timer, s->opt.signals.drain_delay_usec) < 0) {
                        s->draining = false;
                        stop_all(s, to);
                }
        } else
                stop_all(s, to);
        /* Logged after the signal went out: a slow stderr (a pipe to a
         * log shipper) never delays the stop. */
        if (first)
                log_event(LOG_LEVEL_INFO, "shutdown", "signal", signal_to_name(sig), NULL);
        settle(s);
}

int supervisor_new(const struct supervisor_options *o, struct supervisor **ret) {
        struct supervisor *s;
        sigset_t mask;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return log_error_errno(-ENOMEM, "out of memory");
        s->opt = *o;
        reaper_init(&s->reaper);
        loop_timer_init(&s->drain_timer, drain_timer_cb, s);
        loop_timer_init(&s->group_poll_timer, group_poll_cb, s);
        s->rng = (now_usec() ^ ((uint64_t)getpid() << 32)) | 1;

        /* Before gorral changes any disposition: what its parent left
         * ignored (nohup's SIGHUP) stays ignored in the child. */
        signals_ignored_at_start(&s->keep_ignored);
        r = signals_ignore_in_gorral();
        if (r < 0) {
                log_error_errno(r, "cannot ignore SIGTTIN/SIGTTOU");
                goto fail;
        }
        r = loop_new(&s->loop);
        if (r < 0) {
                log_error_errno(r, "cannot create the event loop");
                goto fail;
        }
        signals_handled_set(&mask);
        r = loop_set_signals(s->loop, &mask, on_signal, s, &s->orig_mask);
        if (r < 0) {
                log_error_errno(r, "cannot set up the signalfd");
                goto fail;
        }

        s->is_pid1 = getpid() == 1;
        if (!s->is_pid1) {
                if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
                        s->is_subreaper = true;
                else
                        log_msg(LOG_LEVEL_WARN, errno,
                                "neither PID 1 nor a child subreaper: orphans of the service will not be reaped by gorral, proceeding anyway");
        }
        /* After the signalfd: giving up the terminal sends us SIGHUP. */
        if (s->opt.setsid) {
                r = spawn_release_tty();
                if (r == -EPERM)
                        log_msg(LOG_LEVEL_WARN, 0,
                                "--setsid: the terminal on stdin belongs to a session gorral does not lead, so the child gets no controlling terminal (no job control), proceeding anyway");
                else if (r < 0)
                        log_msg(LOG_LEVEL_WARN, r, "--setsid: cannot give up the terminal for the child, proceeding anyway");
                s->take_tty = r > 0;
        } else
                s->take_tty = spawn_we_own_tty();
        *ret = s;
        return 0;
fail:
        supervisor_free(s);
        return r;
}

struct supervisor *supervisor_free(struct supervisor *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_services; i++)
                service_done(&s->services[i]);
        free(s->services);
        reaper_done(&s->reaper);
        loop_free(s->loop);
        free(s);
        return NULL;
}

int supervisor_add_service(struct supervisor *s, const struct service_config *cfg) {
        struct service *n;
        int r;

        if (s->n_services >= SUPERVISOR_MAX_SERVICES)
                return -ENOSPC;
        /* Services are added before the loop runs and never move after:
         * timers and reaper watches point into this array. */
        n = realloc(s->services, (s->n_services + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        s->services = n;
        r = service_init(&s->services[s->n_services], cfg, &real_ops, s);
        if (r < 0)
                return r;
        loop_timer_init(&s->services[s->n_services].timer, service_timer_cb, &s->services[s->n_services]);
        s->n_services++;
        return 0;
}

int supervisor_run(struct supervisor *s) {
        int r;

        if (s->n_services == 0)
                return GR_EXIT_USAGE;
        log_event(LOG_LEVEL_DEBUG, "supervisor", "pid1", s->is_pid1 ? "true" : "false",
                  "subreaper", s->is_subreaper ? "true" : "false", NULL);
        for (size_t i = 0; i < s->n_services; i++)
                service_dispatch(&s->services[i], SERVICE_EV_START, NULL);
        settle(s);
        r = loop_run(s->loop);
        if (r < 0) {
                /* epoll itself failed: nothing can be supervised any more. */
                log_error_errno(r, "event loop failed");
                supervisor_panic(s, "event loop failed");
                return GR_EXIT_SYSTEM;
        }
        return r;
}
