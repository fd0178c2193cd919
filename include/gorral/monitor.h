/* monitor.h: the samplers of the services (L2): what gorral sees of the
 * Go runtime inside each one, as bounded time series.
 *
 * Every sample_interval a watched service's timer fires and one row of its
 * series is taken:
 *   - /proc (procfs.h): its processes (the main one, and every pid of its
 *     own cgroup when it has one): threads, RSS, CPU time, fds, context
 *     switches;
 *   - its cgroup (cgstat.h), or gorral's when it has none: CPU usage and
 *     throttling (from the cgroup that holds the quota), memory and its
 *     events, pids, pressure;
 *   - its own endpoint when configured (http.h + promtext.h / pprof.h):
 *     goroutines, threads created, heap, GC, runtime/metrics. The scrape is
 *     asynchronous: its values land in the row it was started for, and its
 *     total timeout never exceeds the interval, so a hostile target costs
 *     only its own sample;
 *   - the GODEBUG traces read from its stderr (gotrace.h): the latest SCHED
 *     and gc lines received during the interval.
 * A value that could not be read is a gap in its row, never 0; a row
 * taken after the service (re)started carries SERIES_RESET.
 *
 * A service that is not watched costs nothing: no timer, no fd. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config_service;
struct gotrace_stats;
struct loop;
struct output_filter;
struct series;

/* The columns of a service's series. */
enum mon_metric {
        /* /proc: summed over the service's processes, and its main one. */
        MON_PROCS,
        MON_THREADS,
        MON_THREADS_MAIN,
        MON_RSS_BYTES,
        MON_PROC_CPU_SECONDS,        /* counter: utime + stime of the live processes */
        MON_FDS,
        MON_CTXSW_VOLUNTARY,         /* counter: the main thread's (/proc/PID/status) */
        MON_CTXSW_INVOLUNTARY,       /* counter */
        /* The cgroup. */
        MON_CG_CPU_SECONDS,          /* counter: usage_usec / cpuacct.usage */
        MON_CPU_PERIODS,             /* counter, of the quota holder */
        MON_CPU_THROTTLED_PERIODS,   /* counter */
        MON_CPU_THROTTLED_SECONDS,   /* counter */
        MON_CPU_QUOTA_CORES,         /* the quota holder's quota / period (absent: none) */
        MON_MEM_BYTES,
        MON_MEM_LIMIT_BYTES,
        MON_MEM_HIGH_EVENTS,         /* counter: v2 memory.events high */
        MON_MEM_MAX_EVENTS,          /* counter: v2 max, v1 failcnt */
        MON_OOM_EVENTS,              /* counter */
        MON_OOM_KILLS,               /* counter */
        MON_PIDS,
        MON_PIDS_MAX,
        MON_PSI_CPU_SOME_AVG10,      /* percent, as the kernel writes it */
        MON_PSI_CPU_FULL_AVG10,
        MON_PSI_MEMORY_SOME_AVG10,
        MON_PSI_MEMORY_FULL_AVG10,
        MON_PSI_IO_SOME_AVG10,
        MON_PSI_IO_FULL_AVG10,
        MON_PSI_CPU_SOME_SECONDS,    /* counter: total= */
        MON_PSI_CPU_FULL_SECONDS,
        MON_PSI_MEMORY_SOME_SECONDS,
        MON_PSI_MEMORY_FULL_SECONDS,
        MON_PSI_IO_SOME_SECONDS,
        MON_PSI_IO_FULL_SECONDS,
        /* The service's endpoint (Prometheus text or pprof). */
        MON_GOROUTINES,              /* go_goroutines, else the pprof total */
        MON_GO_THREADS_CREATED,      /* go_threads: OS threads created, not live */
        MON_HEAP_INUSE_BYTES,
        MON_HEAP_ALLOC_BYTES,
        MON_NEXT_GC_BYTES,
        MON_GC_PAUSE_SECONDS,        /* counter: go_gc_duration_seconds_sum */
        MON_GC_PAUSES,               /* counter: go_gc_duration_seconds_count */
        MON_RT_GOMAXPROCS,           /* go_sched_gomaxprocs_threads */
        MON_RT_GOMEMLIMIT_BYTES,     /* go_gc_gomemlimit_bytes */
        MON_G_RUNNING,               /* go_sched_goroutines_running (Go 1.26) */
        MON_G_RUNNABLE,
        MON_G_WAITING,
        MON_G_CREATED,               /* counter */
        /* GODEBUG traces on stderr. */
        MON_SCHED_GOMAXPROCS,
        MON_SCHED_IDLEPROCS,
        MON_SCHED_THREADS,
        MON_SCHED_SPINNING,
        MON_SCHED_IDLETHREADS,
        MON_SCHED_RUNQUEUE,          /* global run queue + every P's */
        MON_GC_CYCLES,               /* counter: the gc number */
        MON_GC_CPU_FRACTION,         /* the GC's share of CPU since start, 0..1 */
        MON_GC_HEAP_GOAL_BYTES,
        MON_GC_HEAP_LIVE_BYTES,
        MON__COUNT
};

struct mon_metric_info {
        const char *name;            /* "threads", "cpu_throttled_periods" ... (status --json keys) */
        bool counter;
        bool kept;                   /* in the series (a trend is read from it); else the newest row's only */
};
const struct mon_metric_info *mon_metric_info(enum mon_metric m);
/* The metric named name (mon_metric_info's names), or -EINVAL. */
int mon_metric_from_name(const char *name);
/* The column of the series that holds m, or -1 when m is not kept. */
int mon_series_column(enum mon_metric m);

/* Why a scrape of a service's endpoint failed: the reason label of
 * gorral_service_scrape_errors_total. */
enum mon_scrape_error {
        MON_ERR_CONNECT,
        MON_ERR_TIMEOUT,
        MON_ERR_RESET,
        MON_ERR_PARSE,               /* not HTTP */
        MON_ERR_TOO_BIG,
        MON_ERR_STATUS,              /* not 2xx */
        MON_ERR_BODY,                /* HTTP fine, but not Prometheus text / no goroutine total */
        MON_ERR_SYSTEM,
        MON_ERR__COUNT
};
const char *mon_scrape_error_name(enum mon_scrape_error e);

/* gorral's own counters. */
#define MON_DURATION_BUCKETS 10
extern const double mon_duration_bounds[MON_DURATION_BUCKETS]; /* seconds, ascending */
struct mon_stats {
        uint64_t samples;                         /* rows taken, every service */
        uint64_t duration_buckets[MON_DURATION_BUCKETS]; /* non-cumulative; above the last: only in count */
        uint64_t duration_count;
        double duration_sum;                      /* seconds: the synchronous part of a sample */
};

struct monitor;
struct mon_service;

/* The one monitor of a supervisor. sysroot as cg_read_limits(). 0 or
 * -errno. */
int monitor_new(struct loop *l, const char *sysroot, struct monitor **ret);
struct monitor *monitor_free(struct monitor *m); /* the services must be freed first */
const struct mon_stats *monitor_stats(const struct monitor *m);

/* A service's samplers, from its settings (spec->watch false: returns 0
 * with *ret NULL: nothing to watch). Samples start at mon_service_started.
 * 0 or -errno (-EINVAL with a message for a URL that cannot be used). */
int mon_service_new(struct monitor *m, const struct config_service *spec, struct mon_service **ret);
struct mon_service *mon_service_free(struct mon_service *ms); /* NULL-safe; safe from any callback */

/* The service's main process is pid (a new start: the next row is a
 * reset). cgroup_subpath: its own cgroup below gorral's (cgsvc_subpath()),
 * or NULL when it runs in gorral's: then its processes are its main one,
 * and the cgroup figures are gorral's cgroup's. Opens the files, reads the
 * binary's build info, arms the timer: rows are taken at multiples of the
 * interval on the monotonic clock (services with the same interval share
 * the wakeup), the first between half an interval and one and a half on. */
void mon_service_started(struct mon_service *ms, pid_t pid, const char *cgroup_subpath);
/* It ended: the timer stops, an in-flight scrape is dropped, the newest
 * row is emptied (a finished service has no current sample). */
void mon_service_stopped(struct mon_service *ms);

/* A service with godebug.schedtrace or gctrace reads its stderr through
 * a pipe: fills *ret with the filter for output_stream_new_filtered() (its
 * trace lines are taken out and sampled, everything else passes on whole;
 * the trace state starts over: call it once per start) and returns true;
 * false when the service is not traced (or out of memory: then its stderr
 * passes through unread). */
bool mon_service_stderr_filter(struct mon_service *ms, struct output_filter *ret);
const struct gotrace_stats *mon_service_trace_stats(const struct mon_service *ms);
/* dump.sigquit: its stderr is read (mon_service_stderr_filter() gives a
 * filter even untraced) so that the goroutine dump Go prints on SIGQUIT
 * can be kept: _begin() starts copying every byte of stderr (false when
 * the service does not allow it), _take() hands over what was copied
 * (malloc'd, at most 32 MiB; *ret NULL and 0 when nothing was begun) once
 * the process has exited and its stderr is drained. */
bool mon_service_capture_begin(struct mon_service *ms);
size_t mon_service_capture_take(struct mon_service *ms, char **ret);

/* Called with every complete row (v[MON__COUNT], NaN gaps; t_usec
 * monotonic; reset: the first row of a new process): at the next tick,
 * when its scrapes have answered or timed out, and at the stop (with the
 * cgroup read once more). The detectors are fed from here. */
typedef void (*mon_row_cb)(void *userdata, const double *v, uint64_t t_usec, bool reset);
void mon_service_set_row_cb(struct mon_service *ms, mon_row_cb cb, void *userdata);
/* The CPU quota of this start's quota holder, in cores; 0 when none. */
double mon_service_quota_cores(const struct mon_service *ms);

/* The kept columns over time (mon_series_column() maps a metric). */
const struct series *mon_service_series(const struct mon_service *ms);
/* The newest row, every metric: [MON__COUNT] values, NaN for a gap;
 * *ret_usec (optional) its monotonic time, 0 before the first row. */
const double *mon_service_sample(const struct mon_service *ms, uint64_t *ret_usec);
const uint64_t *mon_service_scrape_errors(const struct mon_service *ms); /* [MON_ERR__COUNT] */
/* From the binary's build info at the last start; NULL when unknown. */
const char *mon_service_go_version(const struct mon_service *ms);
const char *mon_service_go_module(const struct mon_service *ms);
/* The latest value of m, from the newest row: false when it is a gap. */
bool mon_service_last(const struct mon_service *ms, enum mon_metric m, double *ret);
