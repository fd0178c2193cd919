/* actions.h: what findings do (L2, on the loop, never blocking).
 *
 * One struct actions per supervisor holds the destinations of the
 * configuration's alerts: section (alert.h sinks for webhook and
 * alertmanager, hook.h hooks for exec) and the state directory. One struct
 * actions_service per service with detectors feeds its samples to its
 * detect.h engine and carries out every finding:
 *
 *   log        always: one structured line per finding (event=finding) and
 *              per resolution (event=finding_resolved)
 *   proof      on a leak of goroutines, once, when the service has a
 *              pprof_url: GET its goroutineleak?debug=1 (Go 1.26 with
 *              GOEXPERIMENT=goroutineleakprofile, Go 1.27+; a 404 means the
 *              runtime does not have it). Each fetch is a full GC in the
 *              service, so it is never polled. A non-zero count is proof;
 *              the count and the largest groups go into the finding
 *   sinks      the detector's actions name alerts: destinations; each gets
 *              the fire and the resolution (the finding as JSON; labels and
 *              annotations for Alertmanager; GORRAL_* variables for exec)
 *   restart    on a fire: capture first (pprof_url?debug=2; without it and
 *              with dump.sigquit, a stop by SIGQUIT with stderr kept),
 *              grouped by godump.h, saved in STATE/dumps/SERVICE/ keeping
 *              the last dump.keep, a grouped summary logged; then ops->restart()
 *              (the service's restart budget applies). A service restarted
 *              for findings 3 times within an hour is said to be so.
 *
 * Time: samples carry CLOCK_MONOTONIC microseconds; a finding's wall-clock
 * times (startsAt, endsAt) are derived from CLOCK_REALTIME at the event. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gorral/detect.h"

struct config_service;
struct config_sink;
struct hook_spawn;
struct loop;
struct actions;
struct actions_service;

struct actions_ops {
        /* Exec hooks: start sp (spawn_process() and a reaper watch routing
         * the exit to actions_hook_exited()); see hook.h. */
        int (*hook_spawn)(void *userdata, const struct hook_spawn *sp, pid_t *ret_pid);
        void (*hook_forget)(void *userdata, pid_t pid);
};

/* sinks: the configuration's alerts (copied as needed); state_dir NULL:
 * dumps are only logged. envp: the hooks' base environment. 0, -EINVAL
 * (a sink that cannot be made, said in the log), -ENOMEM. */
int actions_new(struct loop *l, const struct config_sink *sinks, size_t n_sinks, const char *state_dir,
                char *const *envp, const struct actions_ops *ops, void *userdata, struct actions **ret);
/* The services must be freed first. NULL-safe; returns NULL. */
struct actions *actions_free(struct actions *a);
/* A reload: destinations whose settings are unchanged are kept (with
 * their pending and active alerts), the others made anew or dropped.
 * 0 or -errno (then the old ones stay). */
int actions_update(struct actions *a, const struct config_sink *sinks, size_t n_sinks, const char *state_dir);
/* The reaper saw pid exit: 0 when it was a hook's run, -ESRCH else. */
int actions_hook_exited(struct actions *a, pid_t pid, int status);

/* The destinations, for /metrics: i < actions_n_sinks(). */
struct actions_sink_view {
        const char *name;
        const char *kind;             /* "webhook", "alertmanager", "exec" */
        uint64_t delivered;           /* POSTs answered 2xx / runs that exited 0 */
        uint64_t failed;              /* failed POSTs / runs */
        uint64_t dropped;             /* pushed out of a full queue */
        uint64_t given_up;            /* abandoned after every retry */
};
size_t actions_n_sinks(const struct actions *a);
/* The state directory now (after reloads), or NULL. */
const char *actions_state_dir(const struct actions *a);
void actions_sink_view(const struct actions *a, size_t i, struct actions_sink_view *ret);

struct actions_service_ops {
        /* Restart the service for finding f (the capture is done). */
        void (*restart)(void *userdata, const struct detect_finding *f);
        /* Optional (dump.sigquit, no pprof_url): restart it by SIGQUIT with
         * its stderr copied; true when that began. The copy comes back
         * through actions_service_captured() once it has exited. */
        bool (*sigquit)(void *userdata, const struct detect_finding *f);
};

/* The findings of spec's service (spec->detect and spec->actions are
 * read in place: spec must outlive the actions_service and change only
 * before a new one is made, as a unit's own copy of its settings does;
 * spec->dump_*, spec->pprof_url, spec->scrape_socket are copied). 0 with
 * *ret NULL when no detector is on; -EINVAL (a bad option: cannot happen
 * after config_parse), -ENOMEM. */
int actions_service_new(struct actions *a, const struct config_service *spec, const struct actions_service_ops *ops,
                        void *userdata, struct actions_service **ret);
struct actions_service *actions_service_free(struct actions_service *as);  /* NULL-safe */
/* A start: what the detectors should know of it. */
void actions_service_started(struct actions_service *as, const struct detect_context *ctx);
/* One complete row of its samples (monitor.h: v[MON__COUNT]). */
void actions_service_row(struct actions_service *as, const double *v, uint64_t t_usec, bool reset);
/* What its stderr held after a SIGQUIT restart (the Go runtime's dump of
 * every goroutine): grouped, saved and logged like a debug=2 page. */
void actions_service_captured(struct actions_service *as, const char *buf, size_t n);
/* Its watchdog (config `watchdog:`) saw no ping for interval seconds: a
 * watchdog finding; its action (on_watchdog) restarts it through
 * ops->sigquit (SIGABRT, stderr captured) or ops->restart. */
void actions_service_watchdog(struct actions_service *as, double interval);
/* Its process ended: findings about it resolve. */
void actions_service_stopped(struct actions_service *as);

/* For status and /metrics. */
const struct detect *actions_service_detect(const struct actions_service *as);
uint64_t actions_service_fires(const struct actions_service *as, enum detector d);
uint64_t actions_service_restarts(const struct actions_service *as);   /* restarts for findings */
/* Write body as STATE_DIR/dumps/SERVICE/<UTC time>-TAG.txt (0600, the
 * directories 0700, never over a file that is there), then keep the newest
 * keep files of that directory whose names end in keep_suffix but not in
 * other_suffix (NULL: no exception). *ret the path (malloc'd). 0 or -errno.
 * The findings' dumps (TAG the detector: ".txt" but not "-dbus.txt") and
 * D-Bus's Dump ("dbus": "-dbus.txt") are each kept to their own count. */
#define ACTIONS_DBUS_DUMP_SUFFIX "-dbus.txt"
int actions_save_dump(const char *state_dir, const char *service, const char *tag, int64_t wall_usec,
                      const char *body, size_t n, unsigned keep, const char *keep_suffix,
                      const char *other_suffix, char **ret);
/* The wall-clock time (usec) of monotonic seconds t, as of now. */
int64_t actions_wall_usec(double t);
/* The URL of profile leaf ("goroutine", "goroutineleak") with query
 * ("debug=2") next to pprof_url's /goroutine (malloc'd), or NULL when
 * pprof_url's path does not end in /goroutine (or out of memory). Pure. */
char *actions_profile_url(const char *pprof_url, const char *leaf, const char *query);
