/* detect.h: the detectors (L2, pure: no I/O, no clock of their own, no
 * logging). They turn a watched service's samples (monitor.h's rows) into
 * findings: a name, a severity, the values that caused it and when it
 * began, and later its resolution.
 *
 *   threshold     a metric above (or below) a value for N samples (monit's
 *                 "if X > Y for N cycles"); a counter is taken as its rate
 *                 per second
 *   leak          sustained growth of the floor of goroutines, threads, RSS
 *                 or heap (leak.h), with the rate, the growth and the time
 *                 left to the limit that applies
 *   threads       OS threads above a share of Go's thread limit (10000, or
 *                 debug.SetMaxThreads's value) or of pids.max
 *   throttling    throttled periods / periods above a share over a window
 *                 while the service uses most of its quota; the cause named
 *                 when GOMAXPROCS exceeds the quota's cores
 *   memory        usage near the memory limit
 *   gc            the GC's share of CPU high while the heap is near
 *                 GOMEMLIMIT (the death spiral a limit can cause)
 *   oom           an OOM kill in the service's cgroup
 *   pressure      memory pressure (PSI some avg10) above a share
 *   limit_change  the cgroup's memory limit changed under the running
 *                 service (Kubernetes in-place resize): GOMEMLIMIT and
 *                 GOMAXPROCS follow only by a restart
 *
 * One struct detect per service. It is fed one sample at a time, in time
 * order, and calls back once per change: a fire when a condition begins
 * to hold, a resolve when it clears; a finding that stays is said once.
 * The same code runs inside gorral (fed by the monitor) and in `gorral
 * detect --replay` (fed from a CSV file, in the series' own time), with
 * the same option names and defaults (detect_config_set()). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gorral/leak.h"

enum detector {
        DETECTOR_THRESHOLD,
        DETECTOR_LEAK,
        DETECTOR_THREADS,
        DETECTOR_THROTTLING,
        DETECTOR_MEMORY,
        DETECTOR_GC,
        DETECTOR_OOM,
        DETECTOR_PRESSURE,
        DETECTOR_LIMIT_CHANGE,
        DETECTOR_WATCHDOG,           /* not fed by samples: the supervisor reports a missed ping */
        DETECTOR__COUNT
};
const char *detector_name(enum detector d);       /* "leak", ... */
int detector_from_name(const char *s);            /* enum value or -EINVAL */

enum detect_severity { DETECT_WARNING, DETECT_CRITICAL };
const char *detect_severity_name(enum detect_severity s);

/* The series the leak detector follows. */
enum detect_leak_metric { DETECT_LEAK_GOROUTINES, DETECT_LEAK_THREADS, DETECT_LEAK_RSS, DETECT_LEAK_HEAP,
                          DETECT_LEAK__COUNT };
/* Its name ("goroutines", "threads", "rss_bytes", "heap_bytes": the status
 * --json keys) and its monitor.h column. */
const char *detect_leak_metric_name(enum detect_leak_metric m);
int detect_leak_metric_column(enum detect_leak_metric m);

#define DETECT_THRESHOLDS_MAX 8

struct detect_threshold {
        int metric;                  /* enum mon_metric */
        bool has_above, has_below;
        double above, below;
        unsigned for_samples;        /* "for": samples in a row; default 3 */
        int severity;                /* enum detect_severity; default warning */
};

/* Every option of every detector. detect_config_init() gives the
 * defaults; detect_config_set() changes one as the config file and the
 * replay command spell it. */
struct detect_config {
        bool enabled[DETECTOR__COUNT];
        /* leak */
        bool leak_metric[DETECT_LEAK__COUNT];    /* metrics: goroutines, threads, rss_bytes (default) */
        struct leak_params leak[DETECT_LEAK__COUNT];  /* min_goroutines 50, min_threads 10, min_bytes 32MiB */
        bool leak_proof;                          /* proof: fetch goroutineleak once on a fire (default true) */
        /* threshold */
        struct detect_threshold threshold[DETECT_THRESHOLDS_MAX];
        unsigned n_threshold;
        /* threads */
        double threads_max;          /* max: Go's limit, 10000 */
        double threads_above;        /* above: 0.8 of min(max, pids.max) */
        /* throttling */
        double throttle_above;       /* above: throttled/periods, 0.2 */
        double throttle_window;      /* window: seconds, 60 */
        double throttle_usage;       /* usage: share of the quota used, 0.8 */
        /* memory */
        double memory_above;         /* above: usage/limit, 0.9 */
        unsigned memory_for;         /* for: samples, 3 */
        /* gc */
        double gc_cpu_above;         /* cpu_above: the GC's CPU share, 0.25 */
        double gc_heap_near;         /* heap_near: heap/GOMEMLIMIT, 0.9 */
        unsigned gc_for;             /* for: 3 */
        /* oom */
        double oom_window;           /* window: seconds without a new kill to resolve, 300 */
        /* pressure */
        double pressure_above;       /* above: memory some avg10 percent, 10 */
        unsigned pressure_for;       /* for: 3 */
};
void detect_config_init(struct detect_config *c);

/* Set one option: detector d, key as in the config file ("above",
 * "min_goroutines", "metrics", "enabled"...), value as written there
 * ("0.8", "60s", "32MiB", "goroutines,threads", "true"). For threshold,
 * the option applies to the last entry (detect_config_add_threshold()).
 * 0; -ENOENT for a key the detector does not have; -EINVAL with a reason
 * in err (e.g. "above: '1.5' is not a share between 0 and 1"). */
int detect_config_set(struct detect_config *c, enum detector d, const char *key, const char *value, char *err,
                      size_t err_size);
/* A new threshold entry (all its options at their defaults, metric
 * unset): 0, -E2BIG over DETECT_THRESHOLDS_MAX. */
int detect_config_add_threshold(struct detect_config *c);
/* After every set: the combination is coherent (a threshold has a metric
 * and above or below). 0 or -EINVAL with err. */
int detect_config_check(const struct detect_config *c, char *err, size_t err_size);
/* The option keys of a detector, NULL-terminated (for usage texts). */
const char *const *detect_option_keys(enum detector d);
/* Whether key is one of them. */
bool detect_option_known(enum detector d, const char *key);

/* What the detectors know of a service beyond its samples, from its
 * start: its CPU quota, and the GOMAXPROCS/GOMEMLIMIT its environment gave
 * its runtime. NaN/0 when unknown. */
struct detect_context {
        double quota_cores;          /* 0: no quota */
        double gomaxprocs;           /* NaN: not set by gorral (the runtime's default) */
        double gomemlimit_bytes;     /* NaN: none */
        double host_cpus;            /* what an unset GOMAXPROCS means before Go 1.25; NaN unknown */
        unsigned go_minor;           /* 19 for go1.19; 0 unknown */
};

/* One sample: t in seconds (monotonic, or the series' own time in a
 * replay), reset when the service (re)started before it, v[MON__COUNT]
 * with NaN for what was not read. */
struct detect_sample {
        double t;
        bool reset;
        const double *v;
};

#define DETECT_SUMMARY_MAX 256
#define DETECT_CAUSE_MAX 256

struct detect_finding {
        enum detector detector;
        int metric;                  /* enum mon_metric it is about, -1 none */
        const char *metric_name;     /* "goroutines", "threads" ...; NULL none */
        unsigned slot;               /* which of the service's findings (stable, < detect_slots()) */
        enum detect_severity severity;
        bool active;                 /* fire: true; resolve: false */
        double since;                /* t when the condition began */
        double at;                   /* t of this event */
        double value;                /* the value that fired it (NaN none) */
        double threshold;            /* what it was compared with (NaN none) */
        double limit;                /* the limit that applies (NaN none) */
        double rate_per_hour;        /* leak: growth rate (NaN none) */
        double growth;               /* leak: growth so far; oom: kills */
        double baseline;             /* leak: the floor before the growth (NaN none) */
        double eta_seconds;          /* leak: time left to the limit at this rate (NaN: no limit) */
        char summary[DETECT_SUMMARY_MAX];
        char cause[DETECT_CAUSE_MAX];  /* throttling: the likely cause; "" none */
};

typedef void (*detect_cb)(void *userdata, const struct detect_finding *f);

struct detect;
/* 0, -EINVAL (detect_config_check failed), -ENOMEM. c is not copied: it
 * must outlive the detectors and not change under them (a unit's own copy
 * of its settings, which a reload overwrites only before it makes new ones;
 * the replay's options): 808 bytes less per watched service. */
int detect_new(const struct detect_config *c, struct detect **ret);
struct detect *detect_free(struct detect *d);     /* NULL-safe; returns NULL */
void detect_set_context(struct detect *d, const struct detect_context *ctx);
/* Feed one sample. cb runs for every fire and resolve it causes, in slot
 * order. A sample with t not after the previous one is ignored. */
void detect_feed(struct detect *d, const struct detect_sample *s, detect_cb cb, void *userdata);
/* The service ended: every active finding that is about a running process
 * (all but oom) resolves, at t. */
void detect_stopped(struct detect *d, double t, detect_cb cb, void *userdata);
/* The service's watchdog (config `watchdog:`) saw no WATCHDOG=1 for
 * interval seconds at t: a critical finding, once until the process
 * stops (detect_stopped resolves it). Does nothing when the watchdog
 * detector is off (detect.watchdog: false). */
void detect_watchdog_missed(struct detect *d, double t, double interval, detect_cb cb, void *userdata);
/* Findings by slot: NULL when slot i is not active now. */
unsigned detect_slots(const struct detect *d);
const struct detect_finding *detect_slot(const struct detect *d, unsigned i);
