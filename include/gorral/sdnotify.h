/* sdnotify.h: gorral telling the service manager above it (systemd, as
 * Type=notify or notify-reload) how it is (L3), over $NOTIFY_SOCKET and
 * without libsystemd (the static build has none): READY=1 once its
 * services are up, STATUS= with a one-line summary that follows changes,
 * RELOADING=1 + MONOTONIC_USEC and READY=1 around a reload, STOPPING=1 at
 * the shutdown, MAINPID with the first message, and WATCHDOG=1.
 *
 *   sdnotify_parse_env()   pure: NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID
 *   sdnotify_status_text() pure: "3/3 running, 0 findings"
 *   sdnotify_new()         the socket, and the watchdog's timer on the loop
 *   sdnotify_update()      after anything changed: READY=1 when due, STATUS=
 *   sdnotify_reloading()   a reload begins; READY=1 follows once it settled
 *   sdnotify_stopping()    the shutdown begins
 *
 * The watchdog pings from a timer of the one loop at half of
 * WATCHDOG_USEC (what sd_watchdog_enabled(3) advises), and only while the
 * health callback says so: a loop that is stuck runs no timer, and a
 * critical service that has failed makes the callback say no, so
 * systemd's watchdog means "gorral and its critical services are alive".
 * Without NOTIFY_SOCKET nothing is sent: sdnotify_new() gives NULL and
 * every other call takes NULL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;
struct sdnotify;

struct sdnotify_env {
        const char *socket;          /* $NOTIFY_SOCKET, or NULL: nothing to tell */
        uint64_t watchdog_usec;      /* 0: no watchdog for us */
        const char *ignored;         /* why a watchdog variable was ignored, or NULL */
};

/* From the three variables (NULL when unset), for the process self: the
 * watchdog is ours when WATCHDOG_USEC is a positive number and
 * WATCHDOG_PID, if set, is self (systemd sets it to the main pid; a
 * wrapper that exec'd gorral keeps its pid, a shell that forked it does
 * not). A bad NOTIFY_SOCKET (neither "/path" nor "@name") gives socket
 * NULL and says so in ignored. Always 0. */
int sdnotify_parse_env(const char *notify_socket, const char *watchdog_usec, const char *watchdog_pid, pid_t self,
                       struct sdnotify_env *ret);

/* What the summary line says. */
struct sdnotify_summary {
        unsigned services;           /* configured (removed ones not counted) */
        unsigned running;            /* with a main process */
        unsigned failed;             /* gave up, or could not start */
        unsigned findings;           /* active findings over all services */
        bool up;                     /* every service started, ready where that matters, no reload in flight */
        bool stopping;
};

/* "3/3 running, 0 findings", "starting: 1/3 running, 0 findings",
 * "stopping: 2/3 running, ...", ", 1 failed" when one is. Truncated to n;
 * returns the length it wanted (snprintf's contract). Pure. */
int sdnotify_status_text(char *buf, size_t n, const struct sdnotify_summary *s);

/* May the watchdog ping now? false with why filled (logged once per
 * change) stops the pings until it says true again. */
typedef bool (*sdnotify_health_cb)(void *userdata, char *why, size_t why_size);

/* Open the socket of env (env->socket NULL: *ret NULL, 0) and, with a
 * watchdog, arm its timer. 0 or -errno (-EINVAL address, -ENOMEM). */
int sdnotify_new(struct loop *l, const struct sdnotify_env *env, sdnotify_health_cb health, void *userdata,
                 struct sdnotify **ret);
struct sdnotify *sdnotify_free(struct sdnotify *n);      /* NULL-safe; returns NULL */

/* The state now: sends READY=1 (with MAINPID=getpid() the first time)
 * when s->up and it is due (the first start, or a reload that settled),
 * and STATUS= when the line changed. Nothing else is sent. */
void sdnotify_update(struct sdnotify *n, const struct sdnotify_summary *s);
/* A reload begins (SIGHUP or `gorral reload`): RELOADING=1 with
 * MONOTONIC_USEC, as Type=notify-reload wants; the next update with s->up
 * sends READY=1. failed: the new configuration was refused and the old
 * one stays: READY=1 at once, with why in STATUS=. */
void sdnotify_reloading(struct sdnotify *n);
void sdnotify_reload_failed(struct sdnotify *n, const char *why);
/* STOPPING=1, once. */
void sdnotify_stopping(struct sdnotify *n);

/* For status and tests. */
struct sdnotify_stats {
        uint64_t sent;               /* datagrams the socket took */
        uint64_t errors;             /* refused (nobody listens), full, ... */
        uint64_t pings;              /* WATCHDOG=1 sent */
        uint64_t pings_held;         /* timer ticks that did not ping (unhealthy) */
        uint64_t watchdog_usec;      /* 0 none */
        bool ready_sent;
};
const struct sdnotify_stats *sdnotify_stats(const struct sdnotify *n);   /* NULL-safe: NULL */
