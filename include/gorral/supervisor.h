/* supervisor.h: the one context (L3): the loop, the reaper, the services
 * array, signal handling, PID 1 / subreaper setup and the shutdown
 * sequence. No other mutable global state exists. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gorral/limits.h"
#include "gorral/loop.h"
#include "gorral/reaper.h"
#include "gorral/service.h"
#include "gorral/signals.h"

#define SUPERVISOR_MAX_SERVICES 256

struct supervisor_options {
        struct signals_config signals;
        bool setsid;                 /* children get a new session, not only a group */
        int pdeathsig;               /* 0 none */
        bool no_limits;              /* do not compute GOMAXPROCS/GOMEMLIMIT */
        struct limits_options limits;
        /* --remap-exit: the status gorral exits with, by the status it
         * would have (identity unless remapped; every code can be). */
        uint8_t remap_exit[256];
};

struct supervisor {
        struct loop *loop;
        struct reaper reaper;
        struct service *services;
        size_t n_services;
        struct supervisor_options opt;

        sigset_t orig_mask;           /* restored in every child */
        sigset_t keep_ignored;        /* ignored when gorral started: kept in every child */
        bool take_tty;
        bool is_pid1, is_subreaper;
        bool shutting_down;
        bool draining;                /* a SIGTERM waits for the drain delay */
        bool drained;                 /* the drain delay is over (never twice) */
        struct loop_timer drain_timer;
        struct loop_timer group_poll_timer;
        uint64_t group_poll_usec;
        uint64_t rng;
        bool panicked;
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
/* Add a service (name and argv borrowed). 0 or -errno. */
int supervisor_add_service(struct supervisor *s, const struct service_config *cfg);
/* Start every service and run until all are finished; returns gorral's
 * exit status (the first service's, remapped). */
int supervisor_run(struct supervisor *s);
/* An impossible state: log, SIGKILL every service's group, quit with
 * GR_EXIT_SOFTWARE. */
void supervisor_panic(struct supervisor *s, const char *why);
