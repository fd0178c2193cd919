/* supervisor.c: the one context. See supervisor.h. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "gorral/bus.h"
#include "gorral/cgsvc.h"
#include "gorral/control.h"
#include "gorral/exitcodes.h"
#include "gorral/goenv.h"
#include "gorral/json.h"
#include "gorral/log.h"
#include "gorral/notify.h"
#include "gorral/actions.h"
#include "gorral/alert.h"
#include "gorral/exporter.h"
#include "gorral/gotrace.h"
#include "gorral/hook.h"
#include "gorral/http.h"
#include "gorral/monitor.h"
#include "gorral/output.h"
#include "gorral/probe.h"
#include "gorral/sdnotify.h"
#include "gorral/spawn.h"
#include "gorral/supervisor.h"

extern char **environ;

/* Polling a group whose members are not our children (no SIGCHLD will
 * tell us): only while a service waits for its leftovers, from 10 ms
 * doubling to 1 s. Never while idle. */
#define GROUP_POLL_MIN_USEC 10000ULL
#define GROUP_POLL_MAX_USEC 1000000ULL

struct unit {
        struct supervisor *sup;
        struct config_service spec;    /* owned copy: a reload may free the config */
        struct service svc;            /* lifecycle only */
        struct loop_timer timer;       /* the state machine's one timer */
        struct loop_timer ready_timer; /* "ready" without a probe: alive past the start grace */
        /* An exit reaped but not yet dispatched: exits are dispatched after
         * the whole reap drain, so the group check sees the other zombies
         * already reaped. */
        bool exit_pending;
        int exit_pending_status;
        pid_t watched_pid;             /* the pid the reaper routes to us; 0 none */
        bool ready;                    /* ready since its last spawn */
        bool ever_ready;
        bool ever_started;             /* a spawn of it has succeeded (exec'd) */
        bool dep_failed;               /* never started: a dependency can no longer hold */
        bool stop_sent;                /* the shutdown reached it */
        bool failure_recorded;
        bool removing;                 /* removed by a reload: freed once finished */
        bool held;                     /* stopped by `gorral stop`: keeps gorral running until started again */
        struct config_service *next_spec; /* changed by a reload: restarted with this once finished */
        /* What the last spawn gave it (from its final environment, set by
         * gorral or inherited): for `gorral status`. */
        bool has_gomaxprocs, has_gomemlimit;
        unsigned gomaxprocs;
        uint64_t gomemlimit;
        /* Readiness: the sd_notify socket (kept across restarts), the
         * running tcp/exec probe of this start, the last STATUS= text. */
        struct notify_socket *notify;
        struct probe *probe;
        pid_t probe_pid;               /* the exec probe's attempt the reaper routes to us */
        char **probe_env;              /* the exec probe's environment (the service's) */
        char status_text[256];
        bool ready_failed;             /* its readiness failed this start */
        /* watchdog: (systemd's WatchdogSec= for one service): armed at each
         * spawn, pushed back by every WATCHDOG=1 from it. */
        struct loop_timer watchdog_timer;
        uint64_t watchdog_usec;        /* this start's interval (WATCHDOG_USEC=N may change it) */
        bool watchdog_expired;         /* this start missed a ping */
        uint64_t watchdog_timeouts;
        /* Its own cgroup (the stop boundary; the budget its Go runtime is
         * sized by), kept across restarts, removed when it finishes. */
        struct cgsvc *cg;
        int cg_fd;                     /* its cgroup.events fd on the loop, or -1 */
        /* output.prefix: its stdout and stderr, line by line (stderr alone
         * when only its traces are read). */
        struct output_stream *out[2];
        /* Its transient scope under systemd (cg_mode scope): the unit of
         * its current start, and whether systemd said it was made. */
        char scope_unit[BUS_SCOPE_UNIT_MAX];
        bool in_scope;
        struct mon_service *mon;       /* its samplers; NULL when not watched */
        struct actions_service *findings; /* its detectors and what they do; NULL: none (or not watched) */
        struct unit *next;
};

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

static const char *unit_name(const struct unit *u) {
        return u->spec.name;
}

static struct unit *unit_of(struct service *svc) {
        return svc->userdata;
}

static struct unit *find_unit(struct supervisor *s, const char *name) {
        for (struct unit *u = s->units; u; u = u->next)
                if (strcmp(u->spec.name, name) == 0)
                        return u;
        return NULL;
}

/* The service state machine's view of the settings. */
static void service_config_of(const struct config_service *spec, struct service_config *ret) {
        *ret = (struct service_config){
                .name = spec->name,
                .argv = spec->argv,
                .restart = (enum service_restart)spec->restart,
                .stop_signal = spec->stop_signal,
                .stop_timeout_usec = spec->stop_timeout_usec,
                .backoff_initial_usec = spec->backoff_initial_usec,
                .backoff_max_usec = spec->backoff_max_usec < spec->backoff_initial_usec ? spec->backoff_initial_usec
                                                                                         : spec->backoff_max_usec,
                .jitter_pct = spec->jitter_pct,
                .restart_budget = spec->restart_budget,
                .restart_window_usec = spec->restart_window_usec,
                .start_grace_usec = spec->start_grace_usec,
        };
}

/* The service ops: the real world. */

static void on_reaped(pid_t pid, int status, void *userdata);

/* The per-service policy options: the supervisor's (sysroot, --cpus,
 * --strict) with the service's own go: settings. */
/* resources.cpu's period (the config writes 100 ms; 0 would mean the
 * kernel's default, the same). */
static uint64_t spec_cpu_period(const struct config_service *c) {
        return c->cpu_period_us ? c->cpu_period_us : 100000;
}

static void unit_limits_options(const struct unit *u, struct limits_options *ret) {
        const struct config_service *c = &u->spec;

        *ret = u->sup->opt.limits;
        ret->service = c->name;
        ret->rounding = c->rounding == LIMITS_ROUND_FLOOR ? LIMITS_ROUND_FLOOR : LIMITS_ROUND_CEIL;
        ret->min_procs = c->min_procs ? c->min_procs : ret->min_procs;
        ret->min_procs_set = c->min_procs_set;
        if (c->mem_ratio_ppm)
                ret->mem_ratio_ppm = c->mem_ratio_ppm;
        if (c->cpus_override)
                ret->cpus_override = c->cpus_override;
        if (c->strict)
                ret->strict = true;
        if (c->gomaxprocs_mode == CONFIG_GO_OFF)
                ret->no_gomaxprocs = true;
        if (c->gomemlimit_mode == CONFIG_GO_OFF)
                ret->no_gomemlimit = true;
}

/* The service's own environment (or gorral's, when the spec has none),
 * with a fixed go.gomaxprocs / go.gomemlimit added where the environment
 * does not already set it. */
/* What gorral's own systemd gave gorral is not the service's: a service
 * that finds NOTIFY_SOCKET talks to gorral's (or nobody's) notify socket. */
static bool is_systemd_var(const char *kv) {
        static const char *const names[] = { "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
                                             "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strncmp(kv, names[i], strlen(names[i])) == 0)
                        return true;
        return false;
}

/* The environment of a service's process, in one block (free()). */
static int unit_base_env(const struct unit *u, char ***ret) {
        char *const *base = u->spec.env ? u->spec.env : environ;
        size_t n = 0, k = 0, own;
        char **env;
        int r;
        bool has_procs = false, has_mem = false;
        bool trace = u->mon && (u->spec.schedtrace_usec || u->spec.gctrace);
        const char *godebug = NULL;

        for (; base[n]; n++) {
                has_procs |= strncmp(base[n], "GOMAXPROCS=", 11) == 0;
                has_mem |= strncmp(base[n], "GOMEMLIMIT=", 11) == 0;
                if (strncmp(base[n], "GODEBUG=", 8) == 0)
                        godebug = base[n] + 8; /* the last one is the one getenv() and Go see */
        }
        env = calloc(n + 6, sizeof *env);
        if (!env)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (is_systemd_var(base[i]) || (trace && strncmp(base[i], "GODEBUG=", 8) == 0))
                        continue;
                env[k++] = (char *)base[i]; /* packed below: not copied twice */
        }
        own = k; /* env[own..k) are this function's own strings */
        if (u->notify) {
                char buf[160];

                if (notify_socket_env(u->notify, buf, sizeof buf) < 0 || !(env[k++] = strdup(buf)))
                        goto oom;
                /* No WATCHDOG_PID: its pid is not known before the fork,
                 * and without it sd_watchdog_enabled(3) and go-systemd
                 * take the interval for whoever reads it. */
                if (u->spec.watchdog_usec &&
                    asprintf(&env[k++], "WATCHDOG_USEC=%llu", (unsigned long long)u->spec.watchdog_usec) < 0)
                        goto oom_last;
        }
        if (u->spec.gomaxprocs_mode == CONFIG_GO_FIXED && !has_procs &&
            asprintf(&env[k++], "GOMAXPROCS=%u", u->spec.gomaxprocs) < 0)
                goto oom_last;
        if (u->spec.gomemlimit_mode == CONFIG_GO_FIXED && !has_mem &&
            asprintf(&env[k++], "GOMEMLIMIT=%llu", (unsigned long long)u->spec.gomemlimit) < 0)
                goto oom_last;
        if (trace) {
                /* The service's own GODEBUG settings stay; ours are added. */
                _cleanup_free_ char *v = NULL;

                r = gotrace_godebug(godebug, u->spec.schedtrace_usec / 1000, u->spec.gctrace, &v);
                if (r == -ENOMEM)
                        goto oom;
                if (r < 0)
                        log_msg(LOG_LEVEL_WARN, r, "service %s: its GODEBUG is too long to add traces to; left as it is",
                                u->spec.name);
                if (r < 0 && godebug && !(env[k++] = strdup(godebug - 8)))
                        goto oom_last;
                if (r > 0 && asprintf(&env[k++], "GODEBUG=%s", v) < 0)
                        goto oom_last;
        }
        /* One block (strv_pack): a spawn's environment is made and freed
         * at every start, and 40 strdup/free pairs cost musl about 15 us. */
        r = strv_pack(env, ret);
        goto done;
oom_last:
        env[--k] = NULL;
oom:
        r = -ENOMEM;
done:
        for (size_t i = own; i < k; i++)
                free(env[i]);
        free(env);
        return r;
}

/* ---- readiness ---- */

static void settle(struct supervisor *s);
static void notify_manager(struct supervisor *s);
static void unit_findings_started(struct unit *u);
static void stop_unit(struct unit *u, int sig);
static bool someone_needs_ready(const struct supervisor *s, const struct unit *u);

static void watchdog_arm(struct unit *u);

static void became_ready(struct unit *u, const char *how) {
        if (u->ready)
                return;
        u->ready = u->ever_ready = true;
        loop_timer_disarm(u->sup->loop, &u->ready_timer);
        if (u->spec.ready != CONFIG_PROBE_NONE && !loop_timer_armed(&u->watchdog_timer))
                watchdog_arm(u);
        log_event(LOG_LEVEL_INFO, "ready", "service", u->spec.name, "how", how, NULL);
}

/* Its readiness can no longer come this start: stop it; its dependents
 * learn that their condition cannot hold. */
static void readiness_failed(struct unit *u, const char *why) {
        if (u->ready || u->ready_failed)
                return;
        u->ready_failed = true;
        log_event(LOG_LEVEL_ERROR, "ready_failed", "service", u->spec.name, "msg", why, NULL);
        if (service_has_main(&u->svc))
                stop_unit(u, -1);
}

static void end_probe(struct unit *u) {
        u->probe = probe_free(u->probe);
        free(u->probe_env); /* one block: unit_base_env */
        u->probe_env = NULL;
}

static void probe_done(void *userdata, bool ok, const char *why) {
        struct unit *u = userdata;
        const char *how = u->spec.ready == CONFIG_PROBE_TCP ? "tcp" : "exec";

        end_probe(u);
        if (!service_has_main(&u->svc))
                return;
        if (ok) {
                log_event(LOG_LEVEL_DEBUG, "probe", "service", u->spec.name, "msg", why, NULL);
                became_ready(u, how);
        } else
                readiness_failed(u, why);
        settle(u->sup);
}

static void on_probe_reaped(pid_t pid, int status, void *userdata) {
        struct unit *u = userdata;

        if (u->probe_pid == pid)
                u->probe_pid = 0;
        if (u->probe)
                (void)probe_exec_exited(u->probe, pid, status);
}

/* What every process of a unit starts with: the signal mask and the
 * dispositions gorral found, the unit's credentials and working directory. */
static void unit_spawn_params(const struct unit *u, char *const *argv, struct spawn_params *ret) {
        const struct config_service *c = &u->spec;

        *ret = (struct spawn_params){
                .argv = argv,
                .sigmask = &u->sup->orig_mask,
                .keep_ignored = &u->sup->keep_ignored,
                .has_gid = c->has_gid,
                .gid = c->gid,
                .groups = c->groups,
                .n_groups = c->n_groups,
                .has_uid = c->has_uid,
                .uid = c->uid,
                .has_umask = c->has_umask,
                .umask = c->umask,
                .working_dir = c->working_dir,
        };
}

/* An exec probe runs as the service would: its environment, credentials
 * and working directory, a process group of its own. */
static int probe_spawn(void *userdata, char *const *argv, char *const *envp, pid_t *ret_pid) {
        struct unit *u = userdata;
        struct spawn_params p;
        struct spawn_result res;
        int r;

        unit_spawn_params(u, argv, &p);
        p.envp = envp;
        r = spawn_process(&p, &res);

        if (r < 0)
                return r;
        r = reaper_watch(&u->sup->reaper, res.pid, on_probe_reaped, u);
        if (r < 0) {
                (void)spawn_kill(res.pid, SIGKILL);
                return r;
        }
        u->probe_pid = res.pid;
        *ret_pid = res.pid;
        return 0;
}

static void probe_forget(void *userdata, pid_t pid) {
        struct unit *u = userdata;

        reaper_unwatch(&u->sup->reaper, pid);
        if (u->probe_pid == pid)
                u->probe_pid = 0;
}

static const struct probe_ops unit_probe_ops = {
        .done = probe_done,
        .spawn = probe_spawn,
        .forget = probe_forget,
};

static int unit_base_env(const struct unit *u, char ***ret);

/* A new main process is running: start what tells that it is ready. */
static void begin_readiness(struct unit *u) {
        struct probe_timing t = { .interval_usec = u->spec.ready_interval_usec,
                                  .timeout_usec = u->spec.ready_timeout_usec };
        struct loop *l = u->sup->loop;
        int r = 0;

        end_probe(u);
        u->ready = u->ready_failed = false;
        loop_timer_disarm(l, &u->ready_timer);
        switch (u->spec.ready) {
        case CONFIG_PROBE_NONE:
                /* "ready" is "alive past the start grace": a timer only
                 * when someone waits for it (no wakeup otherwise). */
                if (someone_needs_ready(u->sup, u))
                        r = loop_timer_arm_in(l, &u->ready_timer, u->spec.start_grace_usec);
                break;
        case CONFIG_PROBE_NOTIFY:
                r = loop_timer_arm_in(l, &u->ready_timer, u->spec.ready_timeout_usec);
                break;
        case CONFIG_PROBE_TCP:
                r = probe_tcp_start(l, u->spec.ready_tcp, &t, &unit_probe_ops, u, &u->probe);
                break;
        case CONFIG_PROBE_EXEC:
                r = unit_base_env(u, &u->probe_env);
                if (r >= 0)
                        r = probe_exec_start(l, u->spec.ready_exec, u->probe_env, &t, &unit_probe_ops, u, &u->probe);
                break;
        }
        if (r < 0) {
                end_probe(u);
                log_msg(LOG_LEVEL_ERROR, r, "service %s: cannot start its readiness check", u->spec.name);
                readiness_failed(u, "the readiness check could not be started");
        }
}

/* ---- a service's watchdog ---- */

static void watchdog_arm(struct unit *u) {
        if (u->watchdog_usec && !u->watchdog_expired)
                (void)loop_timer_arm_in(u->sup->loop, &u->watchdog_timer, u->watchdog_usec);
        else
                loop_timer_disarm(u->sup->loop, &u->watchdog_timer);
}

static void watchdog_expire(struct unit *u, const char *how);

/* WATCHDOG=1 pushes the deadline back; WATCHDOG_USEC=N sets a new
 * interval from now (0: off until the next start); WATCHDOG=trigger is
 * "treat me as hung now", as in systemd. */
static void watchdog_notified(struct unit *u, const struct notify_message *m) {
        if (m->fields & NOTIFY_WATCHDOG_USEC) {
                u->watchdog_usec = m->watchdog_usec;
                log_event(LOG_LEVEL_INFO, "watchdog_interval", "service", u->spec.name, "interval_ms",
                          LF_MS(m->watchdog_usec), NULL);
        }
        if (m->fields & NOTIFY_WATCHDOG_TRIGGER)
                watchdog_expire(u, "the service asked for it (WATCHDOG=trigger)");
        else if (m->fields & (NOTIFY_WATCHDOG | NOTIFY_WATCHDOG_USEC))
                watchdog_arm(u);
}

static void restart_by_abort(struct unit *u);

static void watchdog_expire(struct unit *u, const char *how) {
        struct supervisor *s = u->sup;

        if (u->watchdog_expired || !service_has_main(&u->svc))
                return;
        u->watchdog_expired = true;
        u->watchdog_timeouts++;
        loop_timer_disarm(s->loop, &u->watchdog_timer);
        log_event(LOG_LEVEL_ERROR, "watchdog_timeout", "service", u->spec.name, "interval_ms", LF_MS(u->watchdog_usec),
                  "pid", LF_INT(u->svc.pid), "msg", how, NULL);
        /* A finding where it has detectors (alerts, hooks, status and
         * /metrics, a restart through them); else the restart here. */
        if (u->findings && u->spec.detect.enabled[DETECTOR_WATCHDOG])
                actions_service_watchdog(u->findings, (double)u->watchdog_usec / 1e6);
        else if (u->spec.actions[DETECTOR_WATCHDOG].restart)
                restart_by_abort(u);
        settle(s);
}

static void watchdog_timer_cb(struct loop *l, void *userdata) {
        (void)l;
        watchdog_expire(userdata, "no WATCHDOG=1 within the interval");
}

/* sd_notify from a service. Only its own processes may speak for it: the
 * main process, a member of its process group or of its cgroup. */
static void on_notify(struct notify_socket *ns, const struct notify_peer *peer, const struct notify_message *m,
                      void *userdata) {
        struct unit *u = userdata;
        bool ok;

        (void)ns;
        ok = peer->pid > 0 && service_has_main(&u->svc) &&
             (peer->pid == u->svc.pid || notify_pid_in_pgid(peer->pid, u->svc.pgid) == 1);
        if (!ok) {
                log_event(LOG_LEVEL_WARN, "notify_rejected", "service", u->spec.name, "pid", LF_INT(peer->pid),
                          "msg", "the sender is not a process of this service, ignoring", NULL);
                return;
        }
        if (m->fields & NOTIFY_STATUS) {
                size_t n = m->status_len < sizeof u->status_text - 1 ? m->status_len : sizeof u->status_text - 1;

                /* Cut on a UTF-8 boundary. */
                while (n > 0 && n < m->status_len && ((unsigned char)m->status[n] & 0xc0) == 0x80)
                        n--;
                memcpy(u->status_text, m->status, n);
                u->status_text[n] = '\0';
                log_event(LOG_LEVEL_DEBUG, "notify_status", "service", u->spec.name, "status", u->status_text, NULL);
        }
        if (m->fields & NOTIFY_STOPPING)
                log_event(LOG_LEVEL_INFO, "notify_stopping", "service", u->spec.name, NULL);
        if ((m->fields & NOTIFY_READY) && u->spec.ready == CONFIG_PROBE_NOTIFY)
                became_ready(u, "notify");
        if (u->spec.watchdog_usec)
                watchdog_notified(u, m);
        settle(u->sup);
}

/* ---- per-service cgroups ---- */

static void on_cgroup_events(struct loop *l, int fd, uint32_t events, void *userdata) {
        struct unit *u = userdata;

        (void)l;
        (void)fd;
        (void)events;
        /* Reading clears the wakeup; settle() asks again where it matters. */
        if (u->cg)
                (void)cgsvc_populated(u->cg);
        settle(u->sup);
}

/* Its cgroup, made at its first start (or again after it finished): the
 * child enters it before it execs. Where none can be made it runs in
 * gorral's, as every service does when the host allows none. */
static void unit_cgroup_prepare(struct unit *u, struct spawn_params *p) {
        struct supervisor *s = u->sup;
        const struct config_service *c = &u->spec;
        struct cgsvc_resources res = { .has_cpu = c->has_cpu, .cpu_quota_us = c->cpu_quota_us,
                                       .cpu_period_us = c->cpu_period_us, .has_memory = c->has_memory,
                                       .memory_bytes = c->memory_bytes };
        const int *fds;
        size_t n;
        int r;

        if (!u->cg && cgsvc_host_enabled(s->cg_host)) {
                _cleanup_free_ char *err = NULL;

                r = cgsvc_create(s->cg_host, c->name, &res, &u->cg, &err);
                if (r < 0) {
                        log_msg(LOG_LEVEL_WARN, r, "service %s: no cgroup of its own (%s), running in gorral's",
                                c->name, err ? err : "cgsvc_create");
                        u->cg = NULL;
                } else {
                        if (err)
                                log_msg(LOG_LEVEL_WARN, 0, "service %s: %s", c->name, err);
                        log_event(LOG_LEVEL_INFO, "cgroup", "service", c->name, "path", cgsvc_path(u->cg), NULL);
                        if (cgsvc_events_fd(u->cg) >= 0 &&
                            loop_add_fd(s->loop, cgsvc_events_fd(u->cg), EPOLLPRI, on_cgroup_events, u) >= 0)
                                u->cg_fd = cgsvc_events_fd(u->cg);
                }
        }
        if (u->cg && cgsvc_procs_fds(u->cg, &fds, &n) >= 0) {
                p->cgroup_procs_fds = fds;
                p->n_cgroup_procs_fds = n;
                p->cgroup_v2_fd = cgsvc_v2_dir_fd(u->cg, &p->cgroup_v2_index);
                p->has_cgroup_v2_fd = p->cgroup_v2_fd >= 0;
        }
}

static void unit_cgroup_unwatch(struct unit *u) {
        if (u->cg_fd >= 0)
                (void)loop_del_fd(u->sup->loop, u->cg_fd);
        u->cg_fd = -1;
}

/* A finished unit's cgroup goes once it is empty (populated 0); while
 * something is left, the next events wakeup or poll retries. The watch is
 * dropped before the fd is closed, so its number is free for the next. */
static void unit_cgroup_release(struct unit *u) {
        int r;

        if (!u->cg || cgsvc_populated(u->cg) > 0)
                return;
        unit_cgroup_unwatch(u);
        r = cgsvc_destroy(u->cg);
        if (r < 0)
                log_msg(LOG_LEVEL_WARN, r, "service %s: cannot remove its cgroup %s, ignoring", u->spec.name,
                        cgsvc_path(u->cg));
        u->cg = cgsvc_free(u->cg);
}

/* Whose cgroups a service runs in now: "own" (cgsvc.h's below gorral's
 * own), "delegated" (the same under a systemd unit with Delegate=yes),
 * "scope" (a transient scope systemd made), "none" (gorral's own cgroup).
 * For `gorral status` ("cgroup_mode") and the bus. */
static const char *unit_cgroup_mode(const struct unit *u) {
        if (u->sup->cg_mode == BUS_CGROUP_SCOPE)
                return u->in_scope && service_has_main(&u->svc) ? "scope" : "none";
        if (!u->cg)
                return "none";
        return u->sup->cg_mode == BUS_CGROUP_DELEGATED ? "delegated" : "own";
}

/* ---- output.prefix ---- */

/* Which of its streams gorral reads: both with output.prefix, stderr
 * alone for a service whose GODEBUG traces it samples. */
static bool unit_reads(const struct unit *u, int i) {
        if (u->sup->opt.output_prefix)
                return true;
        return i == 1 && u->mon && (u->spec.schedtrace_usec || u->spec.gctrace || u->spec.dump_sigquit);
}

static void open_output(struct supervisor *s);

static int unit_output_pipes(struct unit *u, int pipes[2][2]) {
        if (!unit_reads(u, 1))
                return 0;
        /* The first traced service (a reload may bring it) opens it. */
        if (!u->sup->output)
                open_output(u->sup);
        if (!u->sup->output)
                return 0;
        for (int i = 0; i < 2; i++)
                if (unit_reads(u, i) && pipe2(pipes[i], O_CLOEXEC) < 0) {
                        int r = negative_errno();

                        for (int j = 0; j < i; j++) {
                                safe_close(pipes[j][0]);
                                safe_close(pipes[j][1]);
                        }
                        pipes[0][0] = pipes[0][1] = pipes[1][0] = pipes[1][1] = -1;
                        return log_error_errno(r, "service %s: cannot make its output pipes", u->spec.name);
                }
        return 0;
}

/* The write ends belong to the child now; the read ends go to output.c. */
static void unit_output_start(struct unit *u, int pipes[2][2], bool spawned) {
        struct output_filter f;
        int r;

        for (int i = 0; i < 2; i++) {
                if (pipes[i][1] >= 0)
                        safe_close(pipes[i][1]);
                if (pipes[i][0] < 0)
                        continue;
                if (!spawned) {
                        safe_close(pipes[i][0]);
                        continue;
                }
                u->out[i] = output_stream_free(u->out[i]);
                if (i == 1 && mon_service_stderr_filter(u->mon, &f)) {
                        f.no_prefix = !u->sup->opt.output_prefix;
                        r = output_stream_new_filtered(u->sup->output, u->spec.name, pipes[i][0], true, &f, &u->out[i]);
                } else
                        r = output_stream_new(u->sup->output, u->spec.name, pipes[i][0], i == 1, &u->out[i]);
                if (r < 0) {
                        log_msg(LOG_LEVEL_WARN, 0, "service %s: its %s is not read (out of memory)", u->spec.name,
                                i ? "stderr" : "stdout");
                        u->out[i] = NULL;
                }
        }
}

/* Its last lines (a partial one too) before its exit is logged. */
static void unit_output_end(struct unit *u) {
        for (int i = 0; i < 2; i++)
                u->out[i] = output_stream_free(u->out[i]);
}

static void record_go_env(struct unit *u, char *const *envp) {
        const char *v;

        u->has_gomaxprocs = u->has_gomemlimit = false;
        for (; *envp; envp++) {
                if (strncmp(*envp, "GOMAXPROCS=", 11) == 0)
                        u->has_gomaxprocs = go_gomaxprocs_valid(*envp + 11, &u->gomaxprocs) == 1;
                else if (strncmp(*envp, "GOMEMLIMIT=", 11) == 0 && *(v = *envp + 11) && strcmp(v, "off") != 0)
                        u->has_gomemlimit = go_gomemlimit_valid(v, &u->gomemlimit) == 1;
        }
}

/* Does the child of a lone unit get the terminal? Without --setsid: when
 * gorral's group had it. With --setsid: decided at its first start, after
 * the signalfd exists, since gorral giving its terminal up (so the child's
 * session can take it) sends gorral SIGHUP and SIGCONT; those are its own
 * and dropped in on_signal(). */
static bool unit_take_tty(struct unit *u) {
        struct supervisor *s = u->sup;
        int r;

        if (s->n_units != 1)
                return false;
        if (!u->spec.setsid)
                return s->take_tty;
        if (s->setsid_tty == 0) {
                r = spawn_release_tty();
                if (r == -EPERM)
                        log_msg(LOG_LEVEL_WARN, 0,
                                "--setsid: the terminal on stdin belongs to a session gorral does not lead, so the child gets no controlling terminal (no job control), proceeding anyway");
                else if (r < 0)
                        log_msg(LOG_LEVEL_WARN, r, "--setsid: cannot give up the terminal for the child, proceeding anyway");
                s->setsid_tty = r > 0 ? 1 : -1;
        }
        return s->setsid_tty > 0;
}

static void unit_scope_start(struct unit *u, pid_t pid);

static int op_spawn(struct service *svc, pid_t *ret_pid, int *ret_exec_errno) {
        struct unit *u = unit_of(svc);
        struct supervisor *s = u->sup;
        const struct config_service *c = &u->spec;
        struct spawn_params p;
        char **base = NULL, **env = NULL;
        int pipes[2][2] = { { -1, -1 }, { -1, -1 } };
        struct spawn_result res;
        int r;

        unit_spawn_params(u, c->argv, &p);
        p.setsid = c->setsid;
        p.take_tty = unit_take_tty(u);
        p.pdeathsig = c->pdeathsig;
        if ((c->ready == CONFIG_PROBE_NOTIFY || c->watchdog_usec) && !u->notify) {
                char addr[NOTIFY_ADDRESS_MAX + 1];

                /* One socket per service, kept across its restarts: the
                 * socket a datagram comes in on names the service. */
                r = notify_socket_address(addr, sizeof addr, getpid(), c->name);
                if (r >= 0)
                        r = notify_socket_new(s->loop, addr, on_notify, u, &u->notify);
                if (r < 0)
                        log_msg(LOG_LEVEL_ERROR, r, "service %s: cannot open its notify socket; it cannot report ready "
                                "or ping its watchdog", c->name);
        }
        unit_cgroup_prepare(u, &p);
        r = unit_base_env(u, &base);
        if (r < 0)
                return r;
        /* Limits are read again for every start: the cgroup may have been
         * resized since the last one. Fail-open: without them the child
         * still runs, with its own environment. */
        if (!s->opt.no_limits) {
                struct limits_options lo;
                unsigned nerr = 0;

                unit_limits_options(u, &lo);
                /* With a cgroup of its own, the budget is its cgroup's and
                 * every ancestor's: the tightest one wins. */
                char scope_src[BUS_SCOPE_UNIT_MAX + 32];

                if (u->cg)
                        lo.cgroup_subpath = cgsvc_subpath(u->cg);
                /* Under systemd without Delegate=yes the service runs in a
                 * transient scope made after the spawn: its `resources`
                 * are the scope's, on top of gorral's own cgroup (its slice
                 * is gorral's parent, so counting gorral's limits as well
                 * errs low, never high). */
                if (s->cg_mode == BUS_CGROUP_SCOPE && s->scopes && (c->has_cpu || c->has_memory)) {
                        lo.pending_quota_us = c->has_cpu ? c->cpu_quota_us : 0;
                        lo.pending_period_us = c->has_cpu ? spec_cpu_period(c) : 0;
                        lo.pending_memory_bytes = c->has_memory ? c->memory_bytes : 0;
                        snprintf(scope_src, sizeof scope_src, "the transient scope of %s (resources)", c->name);
                        lo.pending_source = scope_src;
                }
                r = limits_prepare_env_for(&lo, c->argv[0], base, &env, &nerr);
                if (r < 0) {
                        log_msg(LOG_LEVEL_WARN, r, "service %s: cannot compute GOMAXPROCS/GOMEMLIMIT, proceeding with its environment",
                                unit_name(u));
                        env = NULL;
                } else if (nerr > 0 && lo.strict) {
                        /* A limit file went bad since the first start
                         * (cmd-run refuses that one): a failed start. */
                        free(env);
                        free(base);
                        log_msg(LOG_LEVEL_ERROR, 0, "--strict: %u malformed limit file(s), not starting '%s'", nerr,
                                c->argv[0]);
                        return -EBADMSG;
                }
        }
        p.envp = env ? env : base;
        record_go_env(u, p.envp);
        r = unit_output_pipes(u, pipes);
        if (r < 0) {
                free(env);
                free(base);
                return r;
        }
        if (pipes[0][1] >= 0)
                p.stdout_fd = pipes[0][1];
        if (pipes[1][1] >= 0)
                p.stderr_fd = pipes[1][1];
        r = spawn_process(&p, &res);
        free(env);
        free(base);
        unit_output_start(u, pipes, r >= 0);
        if (r < 0)
                return r;
        if (res.err && res.stage != SPAWN_STAGE_EXEC)
                log_msg(LOG_LEVEL_ERROR, res.err, "service %s: the child failed to set up (%s)", unit_name(u),
                        spawn_stage_to_string(res.stage));
        r = reaper_watch(&s->reaper, res.pid, on_reaped, u);
        if (r < 0) {
                /* Unroutable exit: better no service than a lost one. The
                 * child is reaped as an orphan. */
                (void)spawn_kill(res.pid, SIGKILL);
                return r;
        }
        u->watched_pid = res.pid;
        u->ready = false;
        if (!res.err) {
                u->ever_started = true;
                /* The pid the state machine records is res.pid; readiness
                 * starts now (the callbacks run from the loop, after). */
                u->svc.pid = u->svc.pgid = res.pid;
                begin_readiness(u);
                unit_scope_start(u, res.pid);
                /* The watchdog runs from the spawn, or, with a readiness
                 * check, from ready (as systemd's starts after READY=1: the
                 * ready timeout covers the start). */
                u->watchdog_usec = u->spec.watchdog_usec;
                u->watchdog_expired = false;
                loop_timer_disarm(s->loop, &u->watchdog_timer);
                if (u->spec.ready == CONFIG_PROBE_NONE)
                        watchdog_arm(u);
                mon_service_started(u->mon, res.pid, u->cg ? cgsvc_subpath(u->cg) : NULL);
                unit_findings_started(u);
        }
        *ret_pid = res.pid;
        *ret_exec_errno = res.err;
        return 0;
}

/* A signal to the group is a signal to everything the service started
 * where it has a cgroup: also what left the group or double-forked into a
 * session of its own. */
static int op_kill(struct service *svc, pid_t target, int sig) {
        struct unit *u = unit_of(svc);

        log_event(LOG_LEVEL_DEBUG, "signal", "service", svc->cfg.name, "target", LF_INT(target),
                  "signal", signal_to_name(sig), u->cg && target < 0 ? "cgroup" : NULL,
                  u->cg ? cgsvc_path(u->cg) : NULL, NULL);
        if (u->cg && target < 0) {
                int r = sig == SIGKILL ? cgsvc_kill(u->cg) : cgsvc_signal(u->cg, sig);

                if (r >= 0)
                        return 0;
                log_msg(LOG_LEVEL_WARN, r, "service %s: cannot signal its cgroup, signalling its group", svc->cfg.name);
        }
        return spawn_kill(target, sig);
}

static bool op_group_alive(struct service *svc, pid_t pgid) {
        struct unit *u = unit_of(svc);
        int r;

        if (u->cg) {
                r = cgsvc_populated(u->cg);
                if (r >= 0)
                        return r > 0;
        }
        if (pgid <= 1)
                return false;
        r = spawn_kill(-pgid, 0);
        /* EPERM: a member exists but changed credentials; still alive. */
        return r == 0 || r == -EPERM;
}

static int op_timer_arm(struct service *svc, uint64_t delay_usec) {
        struct unit *u = unit_of(svc);

        return loop_timer_arm_in(u->sup->loop, &u->timer, delay_usec);
}

static void op_timer_disarm(struct service *svc) {
        struct unit *u = unit_of(svc);

        loop_timer_disarm(u->sup->loop, &u->timer);
}

static uint64_t op_now(struct service *svc) {
        (void)svc;
        return now_usec();
}

/* xorshift64*: jitter only needs to spread restarts, not secrecy. */
static uint32_t op_random(struct service *svc) {
        struct supervisor *s = unit_of(svc)->sup;

        s->rng ^= s->rng >> 12;
        s->rng ^= s->rng << 25;
        s->rng ^= s->rng >> 27;
        return (uint32_t)((s->rng * 2685821657736338717ULL) >> 32);
}

static void op_panic(struct service *svc, const char *why) {
        supervisor_panic(unit_of(svc)->sup, why);
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
        for (struct unit *u = s->units; u; u = u->next) {
                if (u->cg)
                        (void)cgsvc_kill(u->cg);
                if (u->svc.pgid > 1)
                        (void)spawn_kill(-u->svc.pgid, SIGKILL);
        }
        loop_quit(s->loop, GR_EXIT_SOFTWARE);
}

static bool waiting_for_group(const struct unit *u) {
        return u->svc.state == SERVICE_CLEANUP || u->svc.state == SERVICE_CLEANUP_KILL;
}

static void dispatch(struct unit *u, enum service_event ev, const struct service_event_data *d) {
        service_dispatch(&u->svc, ev, d);
}

/* ---- start order ---- */

enum dep_state { DEP_PENDING, DEP_HOLDS, DEP_FAILED };

static enum dep_state dep_state(const struct unit *t, enum config_condition c) {
        bool terminal = service_is_terminal(&t->svc);

        switch (c) {
        case CONFIG_DEP_STARTED:
                if (t->ever_started)
                        return DEP_HOLDS;
                return terminal ? DEP_FAILED : DEP_PENDING;
        case CONFIG_DEP_READY:
                if (t->ever_ready)
                        return DEP_HOLDS;
                return terminal ? DEP_FAILED : DEP_PENDING;
        case CONFIG_DEP_COMPLETED:
                if (terminal && t->svc.starts > 0 && t->svc.exit_code == 0 && t->svc.state == SERVICE_DONE)
                        return DEP_HOLDS;
                return terminal ? DEP_FAILED : DEP_PENDING;
        }
        return DEP_FAILED;
}

static const char *condition_name(enum config_condition c) {
        return c == CONFIG_DEP_READY ? "ready" : c == CONFIG_DEP_COMPLETED ? "completed" : "started";
}

/* Does anything wait for u to be ready? Then "ready" without a probe needs
 * the grace timer; otherwise it is skipped (no wakeup at all). */
static bool someone_needs_ready(const struct supervisor *s, const struct unit *u) {
        for (const struct unit *o = s->units; o; o = o->next)
                for (size_t i = 0; i < o->spec.n_deps; i++)
                        if (o->spec.deps[i].condition == CONFIG_DEP_READY && strcmp(o->spec.deps[i].name, u->spec.name) == 0)
                                return true;
        return false;
}

static void ready_timer_cb(struct loop *l, void *userdata);

static void start_unit(struct unit *u) {
        dispatch(u, SERVICE_EV_START, NULL);
}

/* Start what may start: every idle unit whose conditions hold. Units
 * whose conditions can no longer hold are finished, and say why. */
static bool start_waiting(struct supervisor *s) {
        bool changed = false;

        if (s->shutting_down)
                return false;
        for (struct unit *u = s->units; u; u = u->next) {
                bool all = true;
                const char *failed = NULL;
                enum config_condition fc = CONFIG_DEP_STARTED;

                if (u->svc.state != SERVICE_IDLE || u->dep_failed || u->removing)
                        continue;
                for (size_t i = 0; i < u->spec.n_deps && !failed; i++) {
                        struct unit *t = find_unit(s, u->spec.deps[i].name);
                        enum dep_state st = t ? dep_state(t, u->spec.deps[i].condition) : DEP_FAILED;

                        if (st == DEP_FAILED) {
                                failed = u->spec.deps[i].name;
                                fc = u->spec.deps[i].condition;
                        } else if (st == DEP_PENDING)
                                all = false;
                }
                if (failed) {
                        u->dep_failed = true;
                        log_event(LOG_LEVEL_ERROR, "dependency_failed", "service", unit_name(u), "dependency", failed,
                                  "condition", condition_name(fc),
                                  "msg", "not started: the dependency can no longer reach its condition", NULL);
                        dispatch(u, SERVICE_EV_STOP, NULL);
                        changed = true;
                } else if (all) {
                        start_unit(u);
                        changed = true;
                }
        }
        return changed;
}

/* ---- shutdown ---- */

/* May u be stopped now: does no unit that depends on it still run? */
static bool dependents_done(const struct supervisor *s, const struct unit *u) {
        for (const struct unit *o = s->units; o; o = o->next) {
                if (o == u || service_is_terminal(&o->svc) || o->svc.state == SERVICE_IDLE)
                        continue;
                for (size_t i = 0; i < o->spec.n_deps; i++)
                        if (strcmp(o->spec.deps[i].name, u->spec.name) == 0)
                                return false;
        }
        return true;
}

static void stop_unit(struct unit *u, int sig) {
        struct service_event_data d = { .signal = sig, .group = u->spec.group };

        if (sig < 0) {
                d.signal = u->spec.stop_signal;
                d.group = true;
        }
        u->stop_sent = true;
        loop_timer_disarm(u->sup->loop, &u->ready_timer);
        dispatch(u, SERVICE_EV_STOP, &d);
}

/* Stop, in reverse dependency order, every unit the shutdown has not
 * reached yet. Idle units (waiting for a dependency) just finish. */
static void shutdown_step(struct supervisor *s) {
        bool again = true;

        while (again) {
                again = false;
                for (struct unit *u = s->units; u; u = u->next) {
                        if (u->stop_sent || service_is_terminal(&u->svc))
                                continue;
                        if (u->svc.state == SERVICE_IDLE || u->svc.state == SERVICE_BACKOFF ||
                            dependents_done(s, u)) {
                                stop_unit(u, s->shutdown_signal);
                                again = true;
                        }
                }
        }
}

/* From now on nothing restarts; stop in reverse order with sig (> 0: that
 * signal, to the group with the unit's `group`; -1: each unit's stop
 * signal to its whole group; 0: only "do not restart"). */
static void begin_shutdown(struct supervisor *s, int sig, const char *why) {
        bool first = !s->shutting_down;

        s->shutting_down = true;
        s->shutdown_signal = sig;
        if (first)
                sdnotify_stopping(s->sdnotify);
        if (sig == 0) {
                /* Nothing is sent: every unit just stops restarting. */
                for (struct unit *u = s->units; u; u = u->next)
                        dispatch(u, SERVICE_EV_STOP, NULL);
                return;
        }
        shutdown_step(s);
        if (first && why)
                log_event(LOG_LEVEL_INFO, "shutdown", "reason", why, NULL);
}

/* ---- units ---- */

static void service_timer_cb(struct loop *l, void *userdata);

static struct unit *unit_free(struct supervisor *s, struct unit *u) {
        if (!u)
                return NULL;
        loop_timer_disarm(s->loop, &u->timer);
        loop_timer_disarm(s->loop, &u->ready_timer);
        loop_timer_disarm(s->loop, &u->watchdog_timer);
        if (u->watched_pid > 0)
                reaper_unwatch(&s->reaper, u->watched_pid);
        end_probe(u);
        if (u->probe_pid > 0)
                reaper_unwatch(&s->reaper, u->probe_pid);
        notify_socket_free(u->notify);
        unit_output_end(u);
        u->findings = actions_service_free(u->findings);
        u->mon = mon_service_free(u->mon);
        if (u->cg) {
                /* At exit: a service still populated is killed (gorral's
                 * shutdown waited for it; this is the panic path). */
                if (cgsvc_populated(u->cg) > 0)
                        (void)cgsvc_kill(u->cg);
                unit_cgroup_release(u);
                unit_cgroup_unwatch(u);
                u->cg = cgsvc_free(u->cg);
        }
        service_done(&u->svc);
        config_service_done(&u->spec);
        if (u->next_spec) {
                config_service_done(u->next_spec);
                free(u->next_spec);
        }
        free(u);
        return NULL;
}

/* Its samplers, from its settings (again after a reload changed them).
 * A sampler that cannot be set up is said once; the service runs
 * unwatched. */
static void unit_detect(struct unit *u);

static void unit_watch(struct unit *u) {
        int r;

        u->findings = actions_service_free(u->findings);
        u->mon = mon_service_free(u->mon);
        if (!u->sup->monitor || !u->spec.watch)
                return;
        r = mon_service_new(u->sup->monitor, &u->spec, &u->mon);
        if (r < 0) {
                log_msg(LOG_LEVEL_WARN, r, "service %s: cannot set up its samplers; it runs unwatched", u->spec.name);
                return;
        }
        unit_detect(u);
}

/* ---- findings ---- */

static void on_row(void *userdata, const double *v, uint64_t t_usec, bool reset) {
        struct unit *u = userdata;

        if (u->findings) {
                actions_service_row(u->findings, v, t_usec, reset);
                notify_manager(u->sup);
        }
        bus_changed(u->sup->bus);
}

/* May a finding or a watchdog restart u now: running, and neither it nor
 * gorral on the way out (stopping, removed or changed by a reload)? */
static bool unit_restartable(const struct unit *u) {
        return !u->sup->shutting_down && !u->removing && !u->next_spec &&
               (u->svc.state == SERVICE_RUNNING || u->svc.state == SERVICE_STARTING);
}

/* A finding asked for a restart (its dump is taken): a stop with the stop
 * signal and a start, whatever the restart policy, counted against the
 * restart budget; nothing while it is stopping or shutting down. */
static void finding_restart(void *userdata, const struct detect_finding *f) {
        struct unit *u = userdata;
        struct supervisor *s = u->sup;

        if (!unit_restartable(u))
                return;
        if (f->detector == DETECTOR_WATCHDOG) {
                restart_by_abort(u);
                settle(s);
                return;
        }
        log_event(LOG_LEVEL_WARN, "finding_restart", "service", u->spec.name, "detector", detector_name(f->detector),
                  "summary", f->summary, NULL);
        service_dispatch(&u->svc, SERVICE_EV_RESTART, &(struct service_event_data){ .group = u->spec.group });
        settle(s);
}

/* A hung service: SIGABRT to its main process first, as systemd's
 * watchdog does (a Go runtime prints every goroutine's stack to stderr
 * and exits 2), then the stop timeout's SIGKILL; it starts again. */
static void restart_by_abort(struct unit *u) {
        if (!unit_restartable(u))
                return;
        log_event(LOG_LEVEL_WARN, "watchdog_restart", "service", u->spec.name, "signal", "SIGABRT", NULL);
        service_dispatch(&u->svc, SERVICE_EV_RESTART, &(struct service_event_data){ .signal = SIGABRT });
}

/* The same by SIGQUIT to the main process (Go prints every goroutine to
 * stderr and exits 2), its stderr copied for the dump. */
static bool finding_sigquit(void *userdata, const struct detect_finding *f) {
        struct unit *u = userdata;
        struct supervisor *s = u->sup;
        bool by_abort = f->detector == DETECTOR_WATCHDOG;

        if (!unit_restartable(u) || !u->out[1] || !mon_service_capture_begin(u->mon))
                return false;

        log_event(LOG_LEVEL_WARN, "finding_restart", "service", u->spec.name, "detector", detector_name(f->detector),
                  "signal", by_abort ? "SIGABRT" : "SIGQUIT", "summary", f->summary, NULL);
        service_dispatch(&u->svc, SERVICE_EV_RESTART, &(struct service_event_data){ .signal = by_abort ? SIGABRT : SIGQUIT });
        settle(s);
        return true;
}

static const struct actions_service_ops finding_ops = { .restart = finding_restart, .sigquit = finding_sigquit };

/* Its detectors (again after a reload changed them): the findings of the
 * old ones are dropped without a word (they restart from the next row). */
static void unit_detect(struct unit *u) {
        int r;

        u->findings = actions_service_free(u->findings);
        if (!u->mon || !u->sup->actions)
                return;
        mon_service_set_row_cb(u->mon, on_row, u);
        r = actions_service_new(u->sup->actions, &u->spec, &finding_ops, u, &u->findings);
        if (r < 0)
                log_msg(LOG_LEVEL_WARN, r, "service %s: cannot set up its detectors; it is watched without them",
                        u->spec.name);
}

/* "go1.19.8" -> 19; 0 unknown. */
static unsigned go_minor(const char *v) {
        unsigned major = 0, minor = 0;

        if (!v || sscanf(v, "go%u.%u", &major, &minor) != 2 || major != 1)
                return 0;
        return minor;
}

static void unit_findings_started(struct unit *u) {
        struct detect_context ctx = { .gomaxprocs = NAN, .gomemlimit_bytes = NAN, .host_cpus = NAN };
        long cpus;

        if (!u->findings)
                return;
        cpus = sysconf(_SC_NPROCESSORS_ONLN); /* glibc reads /sys/devices/system/cpu/online */
        ctx.quota_cores = mon_service_quota_cores(u->mon);
        if (u->has_gomaxprocs)
                ctx.gomaxprocs = u->gomaxprocs;
        if (u->has_gomemlimit)
                ctx.gomemlimit_bytes = (double)u->gomemlimit;
        if (cpus > 0)
                ctx.host_cpus = (double)cpus;
        ctx.go_minor = go_minor(mon_service_go_version(u->mon));
        actions_service_started(u->findings, &ctx);
}

static int unit_new(struct supervisor *s, const struct config_service *spec, struct unit **ret) {
        struct unit *u = calloc(1, sizeof *u);
        struct service_config sc;
        int r;

        if (!u)
                return -ENOMEM;
        u->sup = s;
        u->cg_fd = -1;
        loop_timer_init(&u->timer, service_timer_cb, u);
        loop_timer_init(&u->ready_timer, ready_timer_cb, u);
        loop_timer_init(&u->watchdog_timer, watchdog_timer_cb, u);
        r = config_service_copy(&u->spec, spec);
        if (r < 0) {
                free(u);
                return r;
        }
        service_config_of(&u->spec, &sc);
        r = service_init(&u->svc, &sc, &real_ops, u);
        if (r < 0) {
                config_service_done(&u->spec);
                free(u);
                return r;
        }
        unit_watch(u);
        *ret = u;
        return 0;
}

static void unit_append(struct supervisor *s, struct unit *u) {
        struct unit **p = &s->units;

        while (*p)
                p = &(*p)->next;
        *p = u;
        s->n_units++;
}

/* A finished unit changed by a reload takes its new settings and starts
 * again (its dependencies permitting). */
static int unit_respec(struct unit *u) {
        struct config_service *n = u->next_spec;
        struct service_config sc;
        int r;

        u->next_spec = NULL;
        service_done(&u->svc);
        config_service_done(&u->spec);
        u->spec = *n;
        free(n);
        service_config_of(&u->spec, &sc);
        r = service_init(&u->svc, &sc, &real_ops, u);
        unit_watch(u);
        u->ready = u->ever_ready = u->ever_started = u->dep_failed = u->stop_sent = u->failure_recorded = false;
        return r;
}

/* ---- settling ---- */

static void record_end(struct supervisor *s, struct unit *u) {
        int code = supervisor_remap_exit(&s->opt, u->svc.exit_code);

        /* Stopped by a reload (changed or removed): not an end of its own. */
        if (u->failure_recorded || !service_is_terminal(&u->svc) || u->dep_failed || u->next_spec || u->removing)
                return;
        u->failure_recorded = true;
        if (u->spec.critical && !s->have_exit) {
                s->have_exit = true;
                s->exit_status = code;
                s->exit_reason = u->svc.state == SERVICE_FAILED ? "gave-up" : "done";
                if (!s->shutting_down) {
                        bool others = false;

                        for (struct unit *o = s->units; o; o = o->next)
                                others |= o != u && !service_is_terminal(&o->svc);
                        if (others)
                                log_event(LOG_LEVEL_WARN, "critical_ended", "service", unit_name(u), "status",
                                          LF_INT(code), "msg", "a critical service ended: stopping everything", NULL);
                        begin_shutdown(s, -1, others ? "critical" : NULL);
                }
                return;
        }
        if (!s->have_exit && u->svc.exit_code != 0 && u->svc.starts > 0 && !s->shutting_down) {
                /* The first service that failed, unless a critical one
                 * decides later. */
                s->have_exit = true;
                s->exit_status = code;
                s->exit_reason = u->svc.state == SERVICE_FAILED ? "gave-up" : "failed";
        }
}

/* ---- the service manager above gorral (systemd) ---- */

/* Is u where its start leads: started, and ready where readiness is
 * asked or awaited; or finished for good? */
static bool unit_up(const struct supervisor *s, const struct unit *u) {
        if (service_is_terminal(&u->svc))
                return true;
        if (!service_has_main(&u->svc) || u->svc.state == SERVICE_STOPPING || u->svc.state == SERVICE_KILLING)
                return false;
        if (u->spec.ready != CONFIG_PROBE_NONE || someone_needs_ready(s, u))
                return u->ready;
        return true;
}

static unsigned unit_active_findings(const struct unit *u) {
        const struct detect *d;
        unsigned n = 0;

        if (!u->findings)
                return 0;
        d = actions_service_detect(u->findings);
        for (unsigned i = 0; i < detect_slots(d); i++)
                n += detect_slot(d, i) != NULL;
        return n;
}

/* READY=1 when every service is up and no reload is in flight, and the
 * summary line whenever it changes. */
static void notify_manager(struct supervisor *s) {
        struct sdnotify_summary sum = { .up = !s->reload_in_flight, .stopping = s->shutting_down };

        if (!s->sdnotify)
                return;
        for (const struct unit *u = s->units; u; u = u->next) {
                if (u->removing)
                        continue;
                sum.services++;
                sum.running += service_has_main(&u->svc);
                sum.failed += u->svc.state == SERVICE_FAILED || u->dep_failed;
                sum.findings += unit_active_findings(u);
                if (!unit_up(s, u))
                        sum.up = false;
        }
        sdnotify_update(s->sdnotify, &sum);
}

/* The watchdog pings only while no critical service is down: crashing
 * and waiting to restart, failed its readiness, or hung (its own
 * watchdog). A stuck loop pings nothing at all. */
static bool sup_healthy(void *userdata, char *why, size_t why_size) {
        const struct supervisor *s = userdata;

        for (const struct unit *u = s->units; u; u = u->next) {
                const char *what = NULL;

                if (!u->spec.critical || u->removing)
                        continue;
                if (u->svc.state == SERVICE_BACKOFF)
                        what = "exited and waits to restart";
                else if (u->ready_failed)
                        what = "failed its readiness check";
                else if (u->watchdog_expired)
                        what = "missed its watchdog";
                if (what) {
                        snprintf(why, why_size, "critical service %s %s", u->spec.name, what);
                        return false;
                }
        }
        return true;
}

/* After anything that may change a unit: feed pending exits, check the
 * groups of units waiting for leftovers, start what may start, move the
 * shutdown on, apply reloads, keep the group poll timer armed only while
 * needed, and quit when every unit is finished. */
static void settle(struct supervisor *s) {
        bool any_waiting, all_done, changed = true;

        while (changed) {
                changed = false;
                for (struct unit *u = s->units; u; u = u->next) {
                        if (u->exit_pending) {
                                /* Its last STATUS=/STOPPING=1 before its exit. */
                                if (u->notify)
                                        (void)notify_socket_process(u->notify, 64);
                                u->exit_pending = false;
                                loop_timer_disarm(s->loop, &u->ready_timer);
                                loop_timer_disarm(s->loop, &u->watchdog_timer);
                                end_probe(u);
                                unit_output_end(u);
                                if (u->findings) {
                                        _cleanup_free_ char *dump = NULL;
                                        size_t n = mon_service_capture_take(u->mon, &dump);

                                        actions_service_captured(u->findings, dump, n);
                                }
                                mon_service_stopped(u->mon);
                                if (u->findings)
                                        actions_service_stopped(u->findings);
                                u->ready = false;
                                dispatch(u, SERVICE_EV_EXIT,
                                         &(struct service_event_data){ .status = u->exit_pending_status });
                                changed = true;
                        }
                        if (waiting_for_group(u) && !op_group_alive(&u->svc, u->svc.pgid)) {
                                dispatch(u, SERVICE_EV_GROUP_EMPTY, NULL);
                                changed = true;
                        }
                        if (service_is_terminal(&u->svc)) {
                                record_end(s, u);
                                unit_cgroup_release(u);
                        }
                }
                /* Reload: finished units that were changed start again,
                 * finished removed ones go. */
                for (struct unit **p = &s->units; *p;) {
                        struct unit *u = *p;

                        if (!service_is_terminal(&u->svc) || u->exit_pending) {
                                p = &u->next;
                                continue;
                        }
                        if (u->removing) {
                                log_event(LOG_LEVEL_INFO, "removed", "service", unit_name(u), NULL);
                                *p = u->next;
                                s->n_units--;
                                unit_free(s, u);
                                changed = true;
                                continue;
                        }
                        if (u->next_spec && !s->shutting_down) {
                                if (unit_respec(u) < 0)
                                        log_msg(LOG_LEVEL_ERROR, -ENOMEM, "service %s: cannot apply the new settings",
                                                unit_name(u));
                                changed = true;
                        }
                        p = &u->next;
                }
                if (start_waiting(s))
                        changed = true;
                if (s->shutting_down && s->shutdown_signal != 0)
                        shutdown_step(s);
        }

        any_waiting = false;
        all_done = true;
        s->reload_in_flight = false;
        for (struct unit *u = s->units; u; u = u->next) {
                /* cgroup.events tells when a cgroup empties: no polling. */
                if (waiting_for_group(u) && u->cg_fd < 0)
                        any_waiting = true;
                if (!service_is_terminal(&u->svc) || (u->held && !s->shutting_down))
                        all_done = false;
                if (u->removing || u->next_spec)
                        s->reload_in_flight = true;
        }
        if (any_waiting) {
                if (!loop_timer_armed(&s->group_poll_timer)) {
                        s->group_poll_usec = GROUP_POLL_MIN_USEC;
                        (void)loop_timer_arm_in(s->loop, &s->group_poll_timer, s->group_poll_usec);
                }
        } else
                loop_timer_disarm(s->loop, &s->group_poll_timer);
        notify_manager(s);

        if (all_done && !loop_quitting(s->loop) && !(s->opt.config_path && s->n_units == 0 && !s->shutting_down)) {
                int code = s->have_exit ? s->exit_status : 0;
                const char *reason = s->have_exit ? s->exit_reason : "done";

                loop_timer_disarm(s->loop, &s->drain_timer);
                (void)reaper_reap(&s->reaper);
                if (s->n_units == 1)
                        log_event(LOG_LEVEL_INFO, "exit_gorral", "status", LF_INT(code),
                                  "child_status", LF_INT(s->units->svc.exit_code), "reason", reason, NULL);
                else
                        log_event(LOG_LEVEL_INFO, "exit_gorral", "status", LF_INT(code), "reason", reason,
                                  "services", LF_U64(s->n_units), NULL);
                loop_quit(s->loop, code);
        }
        bus_changed(s->bus);
}

static void service_timer_cb(struct loop *l, void *userdata) {
        struct unit *u = userdata;

        (void)l;
        dispatch(u, SERVICE_EV_TIMEOUT, NULL);
        settle(u->sup);
}

static void ready_timer_cb(struct loop *l, void *userdata) {
        struct unit *u = userdata;
        char why[96];

        (void)l;
        if (service_has_main(&u->svc) && u->svc.state != SERVICE_STOPPING && u->svc.state != SERVICE_KILLING) {
                if (u->spec.ready == CONFIG_PROBE_NOTIFY) {
                        snprintf(why, sizeof why, "no READY=1 within %.1fs", (double)u->spec.ready_timeout_usec / 1e6);
                        readiness_failed(u, why);
                } else
                        became_ready(u, "start-grace");
        }
        settle(u->sup);
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
        for (struct unit *u = s->units; u; u = u->next)
                if (waiting_for_group(u)) {
                        s->group_poll_usec = s->group_poll_usec * 2 > GROUP_POLL_MAX_USEC ? GROUP_POLL_MAX_USEC
                                                                                            : s->group_poll_usec * 2;
                        (void)loop_timer_arm_in(s->loop, &s->group_poll_timer, s->group_poll_usec);
                        return;
                }
}

static void on_reaped(pid_t pid, int status, void *userdata) {
        struct unit *u = userdata;

        if (u->watched_pid == pid)
                u->watched_pid = 0;
        if (u->svc.pid != pid)
                return; /* a stale watch: the service moved on */
        u->exit_pending = true;
        u->exit_pending_status = status;
}

/* ---- signals ---- */

/* Send sig (already rewritten) to every running service. */
static void forward(struct supervisor *s, int sig) {
        for (struct unit *u = s->units; u; u = u->next) {
                if (!service_has_main(&u->svc))
                        continue;
                (void)op_kill(&u->svc, u->spec.group || s->opt.signals.group ? -u->svc.pgid : u->svc.pid, sig);
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
        begin_shutdown(s, term_action(s), NULL);
        settle(s);
}

/* A second signal during the shutdown: units already stopping get it
 * now; the others get the shutdown's own signal when their turn comes. */
static void signal_stopping(struct supervisor *s, int sig) {
        for (struct unit *u = s->units; u; u = u->next)
                if (u->stop_sent)
                        stop_unit(u, sig);
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
        if (sig == SIGHUP && s->opt.config_path) {
                /* Running from a file, HUP means "re-read it" (as for
                 * supervisord, nginx, httpd); the services are not sent it. */
                (void)supervisor_reload(s);
                settle(s);
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
        if (sig == SIGTERM)
                to = term_action(s);
        if (s->draining) {
                /* A second TERM, or an INT, during the drain delay: the
                 * pending SIGTERM goes now; an INT follows it. */
                loop_timer_disarm(s->loop, &s->drain_timer);
                s->draining = false;
                s->drained = true;
                begin_shutdown(s, term_action(s), NULL);
                if (sig == SIGINT)
                        signal_stopping(s, to);
        } else if (sig == SIGTERM && s->opt.signals.drain_delay_usec > 0 && !s->drained && first) {
                begin_shutdown(s, 0, NULL);
                s->draining = true;
                log_event(LOG_LEVEL_INFO, "drain", "delay_ms", LF_MS(s->opt.signals.drain_delay_usec),
                          "msg", "delaying SIGTERM so endpoints can drain", NULL);
                if (loop_timer_arm_in(s->loop, &s->drain_timer, s->opt.signals.drain_delay_usec) < 0) {
                        s->draining = false;
                        begin_shutdown(s, to, NULL);
                }
        } else if (first)
                begin_shutdown(s, to, NULL);
        else
                signal_stopping(s, to);
        /* Logged after the signal went out: a slow stderr (a pipe to a
         * log shipper) never delays the stop. */
        if (first)
                log_event(LOG_LEVEL_INFO, "shutdown", "signal", signal_to_name(sig), NULL);
        settle(s);
}

/* ---- reload ---- */

static int reload_apply(struct supervisor *s);

/* The manager above hears RELOADING=1 first, and READY=1 once the new
 * configuration settled (notify_manager()), or at once when it was
 * refused. */
int supervisor_reload(struct supervisor *s) {
        int r;

        if (!s->opt.config_path)
                return -ENOTSUP;
        if (s->shutting_down)
                return -ESHUTDOWN;
        sdnotify_reloading(s->sdnotify);
        r = reload_apply(s);
        if (r < 0)
                sdnotify_reload_failed(s->sdnotify, r == -EBUSY ? "the previous reload is still being applied"
                                                    : r == -ENOSPC ? "too many services"
                                                                   : "the configuration has errors, nothing changed");
        return r;
}

static int reload_apply(struct supervisor *s) {
        struct config_context ctx = { .environ = environ, .root = "/" };
        struct config_diags diags = { 0 };
        struct config *c = NULL;
        unsigned added = 0, removed = 0, changed = 0, policy = 0, kept = 0;
        int r;

        if (!s->opt.config_path)
                return -ENOTSUP;
        if (s->reload_in_flight) {
                log_event(LOG_LEVEL_WARN, "reload_refused", "msg", "the previous reload is still being applied", NULL);
                return -EBUSY;
        }
        if (s->shutting_down)
                return -ESHUTDOWN;
        config_context_host(&ctx, environ);
        r = config_load(s->opt.config_path, &ctx, &c, &diags);
        for (size_t i = 0; i < diags.n; i++)
                log_event(diags.v[i].warning ? LOG_LEVEL_WARN : LOG_LEVEL_ERROR, "reload_error", "file",
                          diags.v[i].file ? diags.v[i].file : s->opt.config_path, "line", LF_U64(diags.v[i].line),
                          "column", LF_U64(diags.v[i].column), "msg", diags.v[i].message, NULL);
        config_diags_done(&diags);
        if (r < 0) {
                log_event(LOG_LEVEL_ERROR, "reload_failed", "file", s->opt.config_path,
                          "msg", "the configuration has errors: nothing changed", NULL);
                config_free(c);
                return r;
        }
        if (c->n_services > SUPERVISOR_MAX_SERVICES) {
                config_free(c);
                return -ENOSPC;
        }
        /* The alert destinations before the services that name them. */
        r = actions_update(s->actions, c->sinks, c->n_sinks, s->state_dir_fixed ? s->state_dir_fixed : c->state_dir);
        if (r < 0) {
                log_msg(LOG_LEVEL_ERROR, r, "reload: cannot set up the alert destinations: nothing changed");
                config_free(c);
                return r;
        }

        /* Removed and changed units first, so that names freed here may be
         * reused by added ones. */
        for (struct unit *u = s->units; u; u = u->next) {
                const struct config_service *n = NULL;
                bool only_policy = false;

                if (u->removing)
                        continue;
                for (size_t i = 0; i < c->n_services; i++)
                        if (strcmp(c->services[i].name, u->spec.name) == 0)
                                n = &c->services[i];
                if (!n) {
                        u->removing = true;
                        removed++;
                        stop_unit(u, -1);
                        continue;
                }
                r = config_service_equal(&u->spec, n, &only_policy);
                if (r > 0) {
                        kept++;
                        continue;
                }
                if (only_policy) {
                        struct service_config sc;
                        struct config_service copy;

                        if (config_service_copy(&copy, n) < 0)
                                goto oom;
                        config_service_done(&u->spec);
                        u->spec = copy;
                        /* Detection changed (or came with the policy): new
                         * detectors, from the next row on, at once (the old
                         * ones read their options from u->spec). */
                        unit_detect(u);
                        service_config_of(&u->spec, &sc);
                        /* The state machine borrows the name and argv. */
                        u->svc.cfg.name = u->spec.name;
                        u->svc.cfg.argv = u->spec.argv;
                        if (service_set_policy(&u->svc, &sc) < 0)
                                goto oom;
                        if (service_has_main(&u->svc))
                                unit_findings_started(u);
                        policy++;
                        continue;
                }
                if (u->next_spec) {
                        config_service_done(u->next_spec);
                        free(u->next_spec);
                }
                u->next_spec = calloc(1, sizeof *u->next_spec);
                if (!u->next_spec || config_service_copy(u->next_spec, n) < 0) {
                        free(u->next_spec);
                        u->next_spec = NULL;
                        goto oom;
                }
                changed++;
                if (!service_is_terminal(&u->svc))
                        stop_unit(u, -1);
                /* A finished or stopping unit restarts once finished
                 * (settle()): it re-enters start order then. */
                u->svc.stop_requested = true;
        }
        for (size_t i = 0; i < c->n_services; i++) {
                struct unit *u = find_unit(s, c->services[i].name);

                if (u && !u->removing)
                        continue;
                r = unit_new(s, &c->services[i], &u);
                if (r < 0)
                        goto oom;
                unit_append(s, u);
                added++;
        }
        log_event(LOG_LEVEL_INFO, "reload", "file", s->opt.config_path, "added", LF_U64(added), "removed",
                  LF_U64(removed), "changed", LF_U64(changed), "policy_only", LF_U64(policy), "unchanged",
                  LF_U64(kept), NULL);
        if (c->log_level >= 0)
                log_set_level((enum log_level)c->log_level);
        if (c->log_format >= 0)
                log_set_format((enum log_format)c->log_format);
        /* What the running gorral cannot change under its services: said,
         * not silently ignored. */
        if (c->output_prefix != s->opt.output_prefix)
                log_event(LOG_LEVEL_WARN, "reload_ignored", "key", "output.prefix",
                          "msg", "takes effect at the next start of gorral", NULL);
        s->reload_in_flight = removed + changed > 0;
        config_free(c);
        return 0;
oom:
        config_free(c);
        return log_error_errno(-ENOMEM, "reload: out of memory; applied in part");
}

/* ---- control socket ---- */

/* What `gorral status` and /metrics both report of a service. */
static uint64_t unit_restarts(const struct service *svc) {
        return svc->starts > 0 ? svc->starts - 1 : 0;
}

static bool unit_has_exit(const struct service *svc) {
        return svc->have_status || svc->exec_errno;
}

static void write_sample(struct json_writer *w, const struct mon_service *ms);
static void write_findings(struct json_writer *w, const struct actions_service *as);

static void write_unit(struct json_writer *w, const struct unit *u) {
        const struct service *svc = &u->svc;
        bool alive = service_has_main(svc);

        json_begin_object(w);
        json_member_string(w, "name", u->spec.name);
        json_member_string(w, "state", u->dep_failed ? "dependency-failed" : service_state_to_string(svc->state));
        json_key(w, "pid");
        if (alive)
                json_int(w, svc->pid);
        else
                json_null(w);
        json_member_uint(w, "restarts", unit_restarts(svc));
        json_key(w, "last_exit");
        if (unit_has_exit(svc))
                json_int(w, svc->exit_code);
        else
                json_null(w);
        json_key(w, "uptime_seconds");
        if (alive)
                json_uint(w, (now_usec() - svc->started_usec) / 1000000u);
        else
                json_null(w);
        json_member_string(w, "cgroup", u->cg ? cgsvc_path(u->cg) : NULL);
        json_member_string(w, "cgroup_mode", unit_cgroup_mode(u));
        json_member_string(w, "scope", u->in_scope ? u->scope_unit : NULL);
        json_key(w, "gomaxprocs");
        if (u->has_gomaxprocs)
                json_uint(w, u->gomaxprocs);
        else
                json_null(w);
        json_key(w, "gomemlimit");
        if (u->has_gomemlimit)
                json_uint(w, u->gomemlimit);
        else
                json_null(w);
        json_member_bool(w, "ready", u->ready);
        json_member_string(w, "status", u->status_text[0] ? u->status_text : NULL);
        json_member_bool(w, "critical", u->spec.critical);
        if (u->spec.watchdog_usec) {
                json_member_uint(w, "watchdog_usec", u->watchdog_usec ? u->watchdog_usec : u->spec.watchdog_usec);
                json_member_uint(w, "watchdog_timeouts", u->watchdog_timeouts);
        }
        if (u->mon)
                write_sample(w, u->mon);
        /* Where its goroutines can be asked for (gorral dump NAME). */
        json_member_string(w, "pprof_url", u->spec.pprof_url);
        json_member_string(w, "scrape_socket", u->spec.scrape_socket);
        if (u->findings)
                write_findings(w, u->findings);
        json_end_object(w);
}

/* "findings": the active ones, "finding_restarts". */
static void write_findings(struct json_writer *w, const struct actions_service *as) {
        const struct detect *d = actions_service_detect(as);
        char when[UTC_MS_LEN];

        json_key(w, "findings");
        json_begin_array(w);
        for (unsigned i = 0; i < detect_slots(d); i++) {
                const struct detect_finding *f = detect_slot(d, i);

                if (!f)
                        continue;
                json_begin_object(w);
                json_member_string(w, "detector", detector_name(f->detector));
                json_member_string(w, "metric", f->metric_name);
                json_member_string(w, "severity", detect_severity_name(f->severity));
                json_member_string(w, "summary", f->summary);
                json_member_string(w, "cause", f->cause[0] ? f->cause : NULL);
                fmt_utc_ms(when, actions_wall_usec(f->since));
                json_member_string(w, "since", when);
                json_key(w, "value");
                if (isnan(f->value))
                        json_null(w);
                else
                        json_real(w, f->value);
                json_end_object(w);
        }
        json_end_array(w);
        json_member_uint(w, "finding_restarts", actions_service_restarts(as));
}

/* The newest row of its series: "sample": {"threads": 12, ...} with only
 * the values it has, "sample_age_seconds", the scrape errors, the binary's
 * Go version. */
static void write_sample(struct json_writer *w, const struct mon_service *ms) {
        uint64_t t;
        const double *v = mon_service_sample(ms, &t);
        const uint64_t *errs = mon_service_scrape_errors(ms);

        json_member_string(w, "go_version", mon_service_go_version(ms));
        json_member_string(w, "module", mon_service_go_module(ms));
        json_key(w, "sample_age_seconds");
        if (t)
                json_real(w, (double)(now_usec() - t) / 1e6);
        else
                json_null(w);
        json_key(w, "sample");
        json_begin_object(w);
        for (int m = 0; m < MON__COUNT && t; m++)
                if (!isnan(v[m])) {
                        json_key(w, mon_metric_info((enum mon_metric)m)->name);
                        json_real(w, v[m]);
                }
        json_end_object(w);
        json_key(w, "scrape_errors");
        json_begin_object(w);
        for (int e = 0; e < MON_ERR__COUNT; e++)
                json_member_uint(w, mon_scrape_error_name((enum mon_scrape_error)e), errs[e]);
        json_end_object(w);
}

static int ctl_status(void *userdata, const char *name, struct json_writer *w) {
        struct supervisor *s = userdata;
        bool found = !name;

        json_begin_array(w);
        for (struct unit *u = s->units; u; u = u->next)
                if (!name || strcmp(name, u->spec.name) == 0) {
                        write_unit(w, u);
                        found = true;
                }
        json_end_array(w);
        return found ? 0 : -ENOENT;
}

static int ctl_command(void *userdata, const char *cmd, const char *name, const char *arg, char *err,
                       size_t err_size) {
        struct supervisor *s = userdata;
        struct unit *u = name ? find_unit(s, name) : NULL;
        int r = 0;

        if (strcmp(cmd, "reload") == 0) {
                r = supervisor_reload(s);
                if (r == -ENOTSUP)
                        snprintf(err, err_size, "gorral runs one command, not a configuration file");
                else if (r == -EBUSY)
                        snprintf(err, err_size, "the previous reload is still being applied");
                else if (r == -EINVAL)
                        snprintf(err, err_size, "%s has errors (see gorral's log): nothing changed", s->opt.config_path);
                settle(s);
                return r;
        }
        if (!u || u->removing) {
                snprintf(err, err_size, "no service '%s'", name ? name : "");
                return -ENOENT;
        }
        if (s->shutting_down) {
                snprintf(err, err_size, "gorral is shutting down");
                return -ESHUTDOWN;
        }
        log_event(LOG_LEVEL_INFO, "control", "command", cmd, "service", u->spec.name, arg ? "signal" : NULL, arg,
                  NULL);
        if (strcmp(cmd, "start") == 0) {
                if (!service_is_terminal(&u->svc) && u->svc.state != SERVICE_IDLE) {
                        snprintf(err, err_size, "service '%s' is %s", name, service_state_to_string(u->svc.state));
                        return -EALREADY;
                }
                u->dep_failed = false;
                u->stop_sent = false;
                u->failure_recorded = false;
                u->held = false;
                start_unit(u);
        } else if (strcmp(cmd, "stop") == 0) {
                if (service_is_terminal(&u->svc)) {
                        snprintf(err, err_size, "service '%s' is not running", name);
                        return -EALREADY;
                }
                /* An operator's stop: not a failure, never restarted, and
                 * gorral stays up so that it can be started again. */
                u->failure_recorded = true;
                u->held = true;
                stop_unit(u, -1);
        } else if (strcmp(cmd, "restart") == 0) {
                if (service_is_terminal(&u->svc) || u->svc.state == SERVICE_IDLE) {
                        u->dep_failed = false;
                        u->failure_recorded = false;
                        u->held = false;
                        start_unit(u);
                } else {
                        /* Stop, then start again once finished: the same
                         * path a reload's change takes. */
                        struct config_service *n = calloc(1, sizeof *n);

                        if (!n || config_service_copy(n, &u->spec) < 0) {
                                free(n);
                                return -ENOMEM;
                        }
                        if (u->next_spec) {
                                config_service_done(u->next_spec);
                                free(u->next_spec);
                        }
                        u->next_spec = n;
                        u->failure_recorded = true;
                        stop_unit(u, -1);
                }
        } else if (strcmp(cmd, "signal") == 0) {
                int sig;

                if (!arg || parse_signal(arg, &sig) < 0) {
                        snprintf(err, err_size, "invalid signal '%s'", arg ? arg : "");
                        return -EINVAL;
                }
                if (!service_has_main(&u->svc)) {
                        snprintf(err, err_size, "service '%s' is not running", name);
                        return -ESRCH;
                }
                r = op_kill(&u->svc, u->spec.group ? -u->svc.pgid : u->svc.pid, sig);
                if (r < 0)
                        snprintf(err, err_size, "kill: %s", strerror(-r));
        } else {
                snprintf(err, err_size, "unknown command '%s'", cmd);
                return -EINVAL;
        }
        settle(s);
        return r;
}

static const struct control_ops ctl_ops = {
        .status = ctl_status,
        .command = ctl_command,
};

/* The control socket: always when running from a file, with one command
 * only when --control asks for it. A socket that cannot be made is said
 * once; gorral supervises on without it. */
static void open_control(struct supervisor *s) {
        _cleanup_free_ char *def = NULL;
        const char *path = s->opt.control_path;
        int r;

        if (!path && !s->opt.config_path)
                return;
        if (!path) {
                r = control_default_path(&def);
                if (r < 0) {
                        log_msg(LOG_LEVEL_WARN, 0, "no control socket: no path (set --control, control.socket, "
                                                   "GORRAL_SOCKET or XDG_RUNTIME_DIR), proceeding without it");
                        return;
                }
                path = def;
        }
        r = control_new(s->loop, path, &ctl_ops, s, NULL, &s->control);
        if (r < 0) {
                log_msg(LOG_LEVEL_WARN, r, "no control socket at %s%s, proceeding without it", path,
                        r == -EADDRINUSE ? " (another gorral answers there)" : "");
                return;
        }
        log_event(LOG_LEVEL_INFO, "control", "socket", control_path(s->control), NULL);
}

/* ---- D-Bus (bus.h): the control socket's commands and a view of each service ---- */

static void copy_str(char *dst, size_t n, const char *src) {
        snprintf(dst, n, "%s", src ? src : "");
}

static uint64_t sample_u64(const double *v, uint64_t t, enum mon_metric m) {
        return t && !isnan(v[m]) && v[m] >= 0 ? (uint64_t)v[m] : BUS_UNKNOWN;
}

static size_t bus_services(void *userdata, struct bus_service_view *views, size_t max) {
        struct supervisor *s = userdata;
        size_t n = 0;

        for (struct unit *u = s->units; u; u = u->next, n++) {
                struct bus_service_view *v = &views[n];
                const double *sv = NULL;
                uint64_t t = 0;

                if (n >= max)
                        continue;      /* counted only: the caller grows its buffer */
                /* No memset: a view is 5 KiB, mostly finding slots, and this
                 * runs after every sample row; every field is written. */
                v->n_findings = 0;
                copy_str(v->name, sizeof v->name, u->spec.name);
                copy_str(v->state, sizeof v->state,
                         u->dep_failed ? "dependency-failed" : service_state_to_string(u->svc.state));
                copy_str(v->sub_state, sizeof v->sub_state,
                         u->held ? "held" : u->ready ? "ready" : u->removing ? "removing" : "");
                v->main_pid = service_has_main(&u->svc) ? (uint32_t)u->svc.pid : 0;
                v->restarts = (uint32_t)unit_restarts(&u->svc);
                if (u->mon)
                        sv = mon_service_sample(u->mon, &t);
                v->threads = sv ? sample_u64(sv, t, MON_THREADS) : BUS_UNKNOWN;
                v->goroutines = sv ? sample_u64(sv, t, MON_GOROUTINES) : BUS_UNKNOWN;
                v->rss_bytes = sv ? sample_u64(sv, t, MON_RSS_BYTES) : BUS_UNKNOWN;
                copy_str(v->cgroup_mode, sizeof v->cgroup_mode, unit_cgroup_mode(u));
                copy_str(v->pprof_url, sizeof v->pprof_url, u->spec.pprof_url);
                copy_str(v->scrape_socket, sizeof v->scrape_socket, u->spec.scrape_socket);
                if (u->findings) {
                        const struct detect *d = actions_service_detect(u->findings);

                        for (unsigned i = 0; i < detect_slots(d) && v->n_findings < BUS_MAX_FINDINGS; i++) {
                                const struct detect_finding *f = detect_slot(d, i);

                                if (!f)
                                        continue;
                                copy_str(v->findings[v->n_findings].detector, sizeof v->findings[0].detector,
                                         detector_name(f->detector));
                                copy_str(v->findings[v->n_findings].summary, sizeof v->findings[0].summary,
                                         f->summary);
                                v->n_findings++;
                        }
                }
        }
        return n;
}

static const char *bus_state_dir(void *userdata) {
        struct supervisor *s = userdata;

        return s->actions ? actions_state_dir(s->actions) : NULL;
}

static const struct bus_ops sup_bus_ops = {
        .services = bus_services,
        .command = ctl_command,
        .state_dir = bus_state_dir,
};

/* The bus: by default (running from a file) the system bus when root and
 * it exists, said once when that fails; an explicit --dbus that fails is
 * an error at start. */
static int open_bus(struct supervisor *s) {
        _cleanup_free_ char *err = NULL;
        struct bus_options o = { .kind = s->opt.dbus_kind, .address = s->opt.dbus_address,
                                 .version = GORRAL_VERSION };
        int r;

        if (o.kind == BUS_KIND_DEFAULT && !s->opt.config_path)
                return 0;
        r = bus_open(s->loop, &o, &sup_bus_ops, s, &s->bus, &err);
        if (r < 0 && o.kind != BUS_KIND_DEFAULT)
                return log_error_errno(r, "--dbus %s: %s", s->opt.dbus_address ? s->opt.dbus_address : "",
                                       err ? err : "cannot open the bus");
        if (r < 0)
                log_msg(LOG_LEVEL_WARN, r, "no D-Bus API: %s, proceeding without it", err ? err : "cannot open the bus");
        return 0;
}

/* Per-service cgroups, when running from a file: said once when the host
 * allows none, and the services run in gorral's own cgroup. */
static void open_own_cgroups(struct supervisor *s) {
        _cleanup_free_ char *reason = NULL;
        const char *const *notes;
        size_t n;

        if (!s->opt.config_path)
                return;
        if (cgsvc_host_open(s->opt.limits.sysroot, &s->cg_host, &reason) < 0) {
                log_msg(LOG_LEVEL_WARN, -ENOMEM, "no per-service cgroups, proceeding without them");
                return;
        }
        if (!cgsvc_host_enabled(s->cg_host)) {
                log_event(LOG_LEVEL_WARN, "cgroups", "enabled", "false", "reason", reason ? reason : "unknown",
                          "msg", "services run in gorral's own cgroup", NULL);
                return;
        }
        log_event(LOG_LEVEL_INFO, "cgroups", "enabled", "true", "how", cgsvc_host_describe(s->cg_host), NULL);
        n = cgsvc_host_notes(s->cg_host, &notes);
        for (size_t i = 0; i < n; i++)
                log_event(LOG_LEVEL_INFO, "cgroups", "note", notes[i], NULL);
}

/* ---- transient scopes (bus.h): systemd owns the cgroup tree ---- */

static void unit_scope_start(struct unit *u, pid_t pid) {
        const struct config_service *c = &u->spec;
        uint64_t quota = c->has_cpu ? c->cpu_quota_us * UINT64_C(1000000) / spec_cpu_period(c) : 0;
        int r;

        u->in_scope = false;
        u->scope_unit[0] = '\0';
        if (u->sup->cg_mode != BUS_CGROUP_SCOPE || !u->sup->scopes)
                return;
        r = bus_scope_start(u->sup->scopes, c->name, pid, quota, c->has_memory ? c->memory_bytes : 0, u->scope_unit);
        if (r < 0) {
                u->scope_unit[0] = '\0';
                log_msg(LOG_LEVEL_WARN, r, "service %s: no transient scope, running in gorral's cgroup", c->name);
        }
}

static void scope_done(void *userdata, const char *service, pid_t pid, const char *unit, bool ok, const char *why) {
        struct supervisor *s = userdata;
        struct unit *u = find_unit(s, service);

        if (ok)
                log_event(LOG_LEVEL_INFO, "scope", "service", service, "unit", unit, "pid", LF_INT(pid), NULL);
        else
                log_event(LOG_LEVEL_WARN, "scope", "service", service, "unit", unit, "pid", LF_INT(pid), "result", why,
                          "msg", "no transient scope: the service runs in gorral's cgroup", NULL);
        if (u && u->svc.pid == pid && strcmp(u->scope_unit, unit) == 0)
                u->in_scope = ok;
        bus_changed(s->bus);
}

static void scopes_decided(void *userdata, enum bus_cgroup_mode mode, const char *why) {
        struct supervisor *s = userdata;

        s->scopes_deciding = false;
        s->cg_mode = mode;
        log_event(LOG_LEVEL_INFO, "cgroups", "mode", bus_cgroup_mode_name(mode), "manager",
                  bus_scopes_describe(s->scopes), "why", why, NULL);
        if (mode != BUS_CGROUP_SCOPE)
                open_own_cgroups(s);
        if (!loop_quitting(s->loop))
                settle(s);
}

static const struct bus_scopes_ops sup_scopes_ops = { .decided = scopes_decided, .scope_done = scope_done };

/* How services get cgroups, when running from a file: on a systemd host,
 * ask systemd (the services start once it answered); elsewhere, gorral's
 * own below its cgroup. An explicit --scopes whose manager cannot be
 * reached is an error at start. */
static int open_cgroups(struct supervisor *s) {
        _cleanup_free_ char *why = NULL;
        int r;

        if (!s->opt.config_path)
                return 0;
        r = bus_scopes_open(s->loop, s->opt.scopes, &sup_scopes_ops, s, &s->scopes, &why);
        if (r < 0)
                return log_error_errno(r, "--scopes: %s", why ? why : "cannot reach systemd");
        if (s->scopes) {
                s->scopes_deciding = true;
                return 0;
        }
        if (s->opt.scopes != BUS_SCOPES_NO)
                log_event(LOG_LEVEL_DEBUG, "cgroups", "scopes", "false", "why", why ? why : "", NULL);
        s->cg_mode = BUS_CGROUP_OWN;
        open_own_cgroups(s);
        return 0;
}

static void open_output(struct supervisor *s) {
        struct output_options o = { 0 };
        size_t w = 0;
        int r;

        for (struct unit *u = s->units; u; u = u->next)
                if (strlen(u->spec.name) > w)
                        w = strlen(u->spec.name);
        o.name_width = (unsigned)w;
        r = output_new(s->loop, &o, &s->output);
        if (r < 0) {
                log_msg(LOG_LEVEL_WARN, r, "output.prefix: cannot set up the prefixed output, passing it through");
                s->output = NULL;
        }
}

/* ---- /metrics ---- */

/* Per detector: its slots active now, and its fires so far. */
struct unit_findings {
        unsigned active[DETECTOR__COUNT];
        uint64_t total[DETECTOR__COUNT];
};

static void unit_findings_count(const struct unit *u, struct unit_findings *ret) {
        const struct detect *d = actions_service_detect(u->findings);

        memset(ret, 0, sizeof *ret);
        for (unsigned i = 0; i < detect_slots(d); i++) {
                const struct detect_finding *f = detect_slot(d, i);

                if (f)
                        ret->active[f->detector]++;
        }
        for (int k = 0; k < DETECTOR__COUNT; k++)
                ret->total[k] = actions_service_fires(u->findings, (enum detector)k);
}

static int metrics_body(struct supervisor *s, char **ret, size_t *ret_len) {
        struct exporter_service *v = calloc(s->n_units ? s->n_units : 1, sizeof *v);
        struct unit_findings *uf = calloc(s->n_units ? s->n_units : 1, sizeof *uf);
        size_t n_sinks = actions_n_sinks(s->actions);
        struct exporter_sink *sinks = calloc(n_sinks ? n_sinks : 1, sizeof *sinks);
        struct exporter_self self = {
                .version = GORRAL_VERSION,
                .orphans_reaped = s->reaper.orphans_reaped,
                .stats = monitor_stats(s->monitor),
                .sinks = sinks,
                .n_sinks = n_sinks,
        };
        size_t n = 0;
        int r;

        if (!v || !uf || !sinks) {
                free(v);
                free(uf);
                free(sinks);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_sinks; i++) {
                struct actions_sink_view k;

                actions_sink_view(s->actions, i, &k);
                sinks[i] = (struct exporter_sink){ .name = k.name, .kind = k.kind, .delivered = k.delivered,
                                                   .failed = k.failed, .dropped = k.dropped, .given_up = k.given_up };
        }
        for (struct unit *u = s->units; u; u = u->next, n++) {
                const struct service *svc = &u->svc;

                v[n] = (struct exporter_service){
                        .name = u->spec.name,
                        .up = service_has_main(svc),
                        .restarts = unit_restarts(svc),
                        .has_exit = unit_has_exit(svc),
                        .last_exit = svc->exit_code,
                        .has_gomaxprocs = u->has_gomaxprocs,
                        .gomaxprocs = u->gomaxprocs,
                        .has_gomemlimit = u->has_gomemlimit,
                        .gomemlimit = u->gomemlimit,
                        .go_version = u->mon ? mon_service_go_version(u->mon) : NULL,
                        .module = u->mon ? mon_service_go_module(u->mon) : NULL,
                        .sample = u->mon ? mon_service_sample(u->mon, NULL) : NULL,
                        .scrape_errors = u->mon ? mon_service_scrape_errors(u->mon) : NULL,
                };
                if (u->findings) {
                        unit_findings_count(u, &uf[n]);
                        v[n].findings_active = uf[n].active;
                        v[n].findings_total = uf[n].total;
                        v[n].finding_restarts = actions_service_restarts(u->findings);
                }
        }
        r = exporter_format(v, n, &self, ret, ret_len);
        free(v);
        free(uf);
        free(sinks);
        return r;
}

static int on_http(void *userdata, const struct http_request *rq, struct http_reply *rp) {
        struct supervisor *s = userdata;
        const char *text;
        int r;

        if (strcmp(rq->path, "/metrics") == 0) {
                r = metrics_body(s, &rp->body, &rp->body_len);
                if (r < 0)
                        return r;
                rp->content_type = EXPORTER_CONTENT_TYPE;
                return 0;
        }
        if (strcmp(rq->path, "/healthz") == 0)
                text = s->shutting_down ? "stopping\n" : "ok\n";
        else {
                rp->status = 404;
                text = "not found: gorral serves /metrics and /healthz\n";
        }
        if (s->shutting_down && strcmp(rq->path, "/healthz") == 0)
                rp->status = 503;
        rp->body = strdup(text);
        if (!rp->body)
                return -ENOMEM;
        rp->body_len = strlen(text);
        return 0;
}

/* --metrics-listen / metrics.listen. A listener that cannot be opened is
 * said once; gorral supervises on without it. */
static void open_metrics(struct supervisor *s) {
        int r;

        if (!s->opt.metrics_listen)
                return;
        r = http_server_new(s->loop, s->opt.metrics_listen, NULL, on_http, s, &s->metrics);
        if (r < 0) {
                log_msg(LOG_LEVEL_ERROR, r, "metrics.listen: cannot listen on %s; /metrics is off",
                        s->opt.metrics_listen);
                s->metrics = NULL;
                return;
        }
        log_event(LOG_LEVEL_INFO, "metrics_listen", "address", s->opt.metrics_listen, "port",
                  LF_U64(http_server_port(s->metrics)), NULL);
}

/* ---- set-up ---- */

/* ---- exec hooks: started as gorral's own children, reaped by the one reaper ---- */

static void on_hook_reaped(pid_t pid, int status, void *userdata) {
        struct supervisor *s = userdata;

        if (s->actions)
                (void)actions_hook_exited(s->actions, pid, status);
}

static int hook_spawn(void *userdata, const struct hook_spawn *sp, pid_t *ret_pid) {
        struct supervisor *s = userdata;
        struct spawn_params p = {
                .argv = sp->argv, .envp = sp->envp, .sigmask = &s->orig_mask, .keep_ignored = &s->keep_ignored,
                .stdin_fd = sp->stdin_fd, .stdout_fd = sp->stdout_fd, .stderr_fd = sp->stderr_fd,
        };
        struct spawn_result res;
        int r = spawn_process(&p, &res);

        if (r < 0)
                return r;
        r = reaper_watch(&s->reaper, res.pid, on_hook_reaped, s);
        if (r < 0) {
                (void)spawn_kill(res.pid, SIGKILL);
                return r;
        }
        *ret_pid = res.pid;
        return 0;
}

static void hook_forget(void *userdata, pid_t pid) {
        struct supervisor *s = userdata;

        reaper_unwatch(&s->reaper, pid);
}

static const struct actions_ops sup_actions_ops = { .hook_spawn = hook_spawn, .hook_forget = hook_forget };

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
        s->take_tty = spawn_we_own_tty();
        {
                struct sdnotify_env env;

                sdnotify_parse_env(getenv("NOTIFY_SOCKET"), getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), getpid(),
                                   &env);
                if (env.ignored)
                        log_event(LOG_LEVEL_INFO, "sd_notify", "msg", env.ignored, NULL);
                r = sdnotify_new(s->loop, &env, sup_healthy, s, &s->sdnotify);
                if (r < 0)
                        log_msg(LOG_LEVEL_WARN, r, "cannot use NOTIFY_SOCKET=%s; the service manager is not told "
                                "gorral's state", env.socket);
                else if (env.watchdog_usec)
                        log_event(LOG_LEVEL_INFO, "watchdog", "interval_ms", LF_MS(env.watchdog_usec), "msg",
                                  "pinging the service manager at half the interval", NULL);
        }
        r = monitor_new(s->loop, s->opt.limits.sysroot, &s->monitor);
        if (r < 0) {
                log_error_errno(r, "cannot set up the samplers");
                goto fail;
        }
        if (s->opt.state_dir_fixed && s->opt.state_dir && !(s->state_dir_fixed = strdup(s->opt.state_dir))) {
                r = -ENOMEM;
                goto fail;
        }
        r = actions_new(s->loop, s->opt.sinks, s->opt.n_sinks, s->opt.state_dir, environ, &sup_actions_ops, s,
                        &s->actions);
        s->opt.sinks = NULL;          /* borrowed for the call only */
        s->opt.n_sinks = 0;
        s->opt.state_dir = NULL;
        if (r < 0) {
                log_error_errno(r, "cannot set up the alert destinations");
                goto fail;
        }
        *ret = s;
        return 0;
fail:
        supervisor_free(s);
        return r;
}

struct supervisor *supervisor_free(struct supervisor *s) {
        if (!s)
                return NULL;
        while (s->units) {
                struct unit *u = s->units;

                s->units = u->next;
                unit_free(s, u);
        }
        bus_free(s->bus);
        bus_scopes_free(s->scopes);
        control_free(s->control);
        sdnotify_free(s->sdnotify);
        free(s->state_dir_fixed);
        http_server_free(s->metrics);
        actions_free(s->actions);
        monitor_free(s->monitor);
        output_free(s->output);
        cgsvc_host_free(s->cg_host);
        reaper_done(&s->reaper);
        loop_free(s->loop);
        free(s);
        return NULL;
}

#if defined(__SANITIZE_ADDRESS__)
#define LEAK_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEAK_CHECKED 1
#endif
#endif

#ifndef LEAK_CHECKED
/* Whether freeing s does more than give memory and descriptors back. */
static bool holds_outside_state(const struct supervisor *s) {
        if (s->bus || s->scopes || s->control || s->sdnotify || s->output || s->cg_host ||
            (s->actions && actions_n_sinks(s->actions) > 0))
                return true;
        for (const struct unit *u = s->units; u; u = u->next)
                if (u->cg || u->notify || u->findings || u->probe_pid > 0 || u->watched_pid > 0)
                        return true;
        return false;
}
#endif

void supervisor_exit(struct supervisor *s) {
#ifdef LEAK_CHECKED
        supervisor_free(s);
#else
        /* Measured on the SIGTERM path of `gorral run -- CMD`: the frees
         * cost musl five munmap(2) calls (60-80 us with their TLB
         * shootdowns), glibc about 15 us. */
        if (s && holds_outside_state(s))
                supervisor_free(s);
#endif
}

int supervisor_add_service(struct supervisor *s, const struct config_service *spec) {
        struct unit *u;
        int r;

        if (s->n_units >= SUPERVISOR_MAX_SERVICES)
                return -ENOSPC;
        if (!spec->name || !spec->argv || !spec->argv[0])
                return -EINVAL;
        if (find_unit(s, spec->name))
                return -EEXIST;
        r = unit_new(s, spec, &u);
        if (r < 0)
                return r;
        unit_append(s, u);
        return 0;
}

int supervisor_run(struct supervisor *s) {
        int r;

        if (s->n_units == 0)
                return GR_EXIT_USAGE;
        log_event(LOG_LEVEL_DEBUG, "supervisor", "pid1", s->is_pid1 ? "true" : "false",
                  "subreaper", s->is_subreaper ? "true" : "false", NULL);
        open_control(s);
        if (open_bus(s) < 0 || open_cgroups(s) < 0)
                return GR_EXIT_USAGE;
        open_metrics(s);
        if (s->opt.output_prefix && s->n_units > 0)
                open_output(s);
        if (!s->scopes_deciding)
                settle(s);
        r = loop_run(s->loop);
        if (s->output)
                (void)output_flush(s->output, 1000000);
        if (r < 0) {
                /* epoll itself failed: nothing can be supervised any more. */
                log_error_errno(r, "event loop failed");
                supervisor_panic(s, "event loop failed");
                return GR_EXIT_SYSTEM;
        }
        return r;
}
