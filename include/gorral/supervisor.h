/* supervisor.h: the one context (L3): the loop, the reaper, the units (one
 * per service), signal handling, PID 1 / subreaper setup, start order and
 * readiness, the shutdown sequence and reload. No other mutable global
 * state exists.
 *
 * A unit owns everything of one service that the state machine of
 * service.h does not: a copy of its settings (struct config_service), its
 * timers, its reaper watch and its pending exit. Units are allocated one
 * by one and never move, so timers and watches may point at them while a
 * reload adds and removes others.
 *
 * Start order: a unit starts when each of its depends_on conditions holds
 * (started: spawned; ready: its probe passed, or without a probe it ran
 * past its start grace; completed: it exited 0 and will not restart). A
 * unit whose dependency can no longer hold is not started, and says why.
 * Shutdown goes in reverse: a unit is stopped once nothing that depends on
 * it runs. gorral exits when every unit is finished: with the status of
 * the critical unit that ended it, else of the first unit that failed, else
 * 0. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gorral/bus.h"
#include "gorral/childenv.h"
#include "gorral/config.h"
#include "gorral/limits.h"
#include "gorral/loop.h"
#include "gorral/reaper.h"
#include "gorral/service.h"
#include "gorral/signals.h"

#define SUPERVISOR_MAX_SERVICES 256

struct supervisor_options {
        struct signals_config signals;
        bool no_limits;              /* do not compute GOMAXPROCS/GOMEMLIMIT (any service) */
        struct limits_options limits; /* supervisor-wide: sysroot, --cpus, --strict */
        /* --remap-exit: the status gorral exits with, by the status it
         * would have (identity unless remapped; every code can be). */
        uint8_t remap_exit[256];
        const char *config_path;     /* -c FILE: SIGHUP re-reads it; NULL: one command */
        const char *control_path;    /* the control socket; NULL: the default */
        enum bus_kind dbus_kind;     /* --dbus (bus.h); BUS_KIND_DEFAULT: system when root and it exists */
        const char *dbus_address;    /* BUS_KIND_ADDRESS */
        enum bus_scopes_kind scopes; /* --scopes: transient systemd scopes per service (bus.h) */
        bool output_prefix;          /* "NAME | " before each line of each service */
        const char *metrics_listen;  /* the /metrics exporter's address; NULL: none */
        /* Where findings go (alerts: of the file, or gorral run's
         * --alertmanager/--webhook/--hook), and where dumps are kept:
         * read by supervisor_new() only (copied). */
        const struct config_sink *sinks;
        size_t n_sinks;
        const char *state_dir;
        bool state_dir_fixed;        /* given on the command line: a reload keeps it */
};

struct unit;
struct control;
struct cgsvc_host;
struct output;
struct monitor;
struct http_server;
struct actions;
struct config_sink;
struct sdnotify;

struct supervisor {
        struct loop *loop;
        struct reaper reaper;
        struct unit *units;           /* in start order of the file; a list, never realloc'd */
        size_t n_units;
        struct supervisor_options opt;

        sigset_t orig_mask;           /* restored in every child */
        sigset_t keep_ignored;        /* ignored when gorral started: kept in every child */
        bool take_tty;                /* gorral's group had the terminal's foreground */
        int setsid_tty;               /* --setsid: 0 undecided, 1 the child takes fd 0, -1 it cannot */
        bool is_pid1, is_subreaper;
        bool shutting_down;
        int shutdown_signal;          /* sent to each unit when it may stop; -1: its own stop signal */
        bool draining;                /* a SIGTERM waits for the drain delay */
        bool drained;                 /* the drain delay is over (never twice) */
        struct loop_timer drain_timer;
        struct loop_timer group_poll_timer;
        uint64_t group_poll_usec;
        uint64_t rng;
        bool panicked;
        bool have_exit;               /* the status gorral will exit with is decided */
        int exit_status;
        const char *exit_reason;
        bool reload_in_flight;        /* changed or removed units still stopping */
        struct control *control;      /* the control socket, or NULL */
        struct cgsvc_host *cg_host;   /* per-service cgroups (running from a file) */
        struct output *output;        /* output.prefix or traced stderr, or NULL: output passes through */
        struct monitor *monitor;      /* the samplers (watched services) */
        struct http_server *metrics;  /* /metrics and /healthz, or NULL */
        struct actions *actions;      /* alert destinations and hooks */
        struct bus *bus;              /* org.gorral.Supervisor1 on D-Bus, or NULL */
        struct bus_scopes *scopes;    /* systemd's manager, for transient scopes, or NULL */
        enum bus_cgroup_mode cg_mode; /* how services get cgroups (decided at start) */
        bool scopes_deciding;         /* services wait for that decision */
        struct sdnotify *sdnotify;    /* the service manager above (NOTIFY_SOCKET), or NULL */
        char *state_dir_fixed;        /* --state-dir, which a reload does not replace; or NULL */
};

void supervisor_options_init(struct supervisor_options *o);
/* Parse "FROM:TO" exit codes (0-255 each; a later rule for the same FROM
 * wins). 0, or -EINVAL with *reterr_reason set to a sentence for the
 * usage error (static). */
int supervisor_parse_remap(struct supervisor_options *o, const char *spec, const char **reterr_reason);
/* The remap table applied to an exit code. */
int supervisor_remap_exit(const struct supervisor_options *o, int code);

/* Set up signals, the loop, PID 1 / subreaper. 0 or -errno (logged). */
int supervisor_new(const struct supervisor_options *o, struct supervisor **ret);
struct supervisor *supervisor_free(struct supervisor *s);
/* Before gorral exits: supervisor_free() where the supervisor still holds
 * something that outlives the process (cgroups, socket files, a bus, hook
 * processes, buffered output); otherwise the memory and descriptors are
 * left to the kernel, which takes them back for less than free() and
 * close() cost on the SIGTERM-to-exit path. Builds with a leak checker
 * always free. s is not usable afterwards. */
void supervisor_exit(struct supervisor *s);
/* Add a service (its settings are copied). 0 or -errno: -EEXIST a
 * service of that name exists, -ENOSPC too many. */
int supervisor_add_service(struct supervisor *s, const struct config_service *spec);
/* Start every service whose dependencies allow and run until all are
 * finished; returns gorral's exit status. */
int supervisor_run(struct supervisor *s);
/* Re-read the configuration file and apply it (added services start,
 * removed ones stop, changed ones restart, a change of restart policy or
 * backoff alone applies in place). On any error nothing changes and every
 * error is logged. 0, -EBUSY a reload is still being applied, -EINVAL the
 * file has errors, -ENOTSUP not running from a file. */
int supervisor_reload(struct supervisor *s);
/* An impossible state: log, SIGKILL every service's group, quit with
 * GR_EXIT_SOFTWARE. */
void supervisor_panic(struct supervisor *s, const char *why);
