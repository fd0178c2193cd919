/* monitor.c: the samplers of the services, into their series (see
 * monitor.h). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gorral/buildinfo.h"
#include "gorral/cgroup.h"
#include "gorral/cgstat.h"
#include "gorral/config.h"
#include "gorral/gotrace.h"
#include "gorral/http.h"
#include "gorral/log.h"
#include "gorral/loop.h"
#include "gorral/monitor.h"
#include "gorral/output.h"
#include "gorral/pprof.h"
#include "gorral/procfs.h"
#include "gorral/promtext.h"
#include "gorral/series.h"
#include "gorral/util.h"

/* Rows per service: 360 at the default 5 s is half an hour (at 1 s, six
 * minutes), the span a trend detector looks back over. Only the columns a
 * trend is read from are kept in the series (mon_metric_info().kept); the
 * others (limits, averages, the main process's share) are the newest
 * row's alone. A scraped service on a hybrid host fills about 17 kept
 * columns: 360 x (9 + 17 x 8) bytes = 51 KiB, once and for good (a column
 * is allocated whole at its first value). */
#define MON_ROWS 360u

static const struct mon_metric_info infos[MON__COUNT] = {
        [MON_PROCS] = { "processes", false, false },
        [MON_THREADS] = { "threads", false, true },
        [MON_THREADS_MAIN] = { "threads_main", false, false },
        [MON_RSS_BYTES] = { "rss_bytes", false, true },
        [MON_PROC_CPU_SECONDS] = { "proc_cpu_seconds", true, true },
        [MON_FDS] = { "open_fds", false, true },
        [MON_CTXSW_VOLUNTARY] = { "main_ctxsw_voluntary", true, false },
        [MON_CTXSW_INVOLUNTARY] = { "main_ctxsw_involuntary", true, false },
        [MON_CG_CPU_SECONDS] = { "cpu_seconds", true, true },
        [MON_CPU_PERIODS] = { "cpu_periods", true, true },
        [MON_CPU_THROTTLED_PERIODS] = { "cpu_throttled_periods", true, true },
        [MON_CPU_THROTTLED_SECONDS] = { "cpu_throttled_seconds", true, true },
        [MON_CPU_QUOTA_CORES] = { "cpu_quota_cores", false, false },
        [MON_MEM_BYTES] = { "memory_bytes", false, true },
        [MON_MEM_LIMIT_BYTES] = { "memory_limit_bytes", false, false },
        [MON_MEM_HIGH_EVENTS] = { "memory_high_events", true, false },
        [MON_MEM_MAX_EVENTS] = { "memory_max_events", true, false },
        [MON_OOM_EVENTS] = { "oom_events", true, false },
        [MON_OOM_KILLS] = { "oom_kills", true, true },
        [MON_PIDS] = { "pids", false, false },
        [MON_PIDS_MAX] = { "pids_max", false, false },
        [MON_PSI_CPU_SOME_AVG10] = { "psi_cpu_some_avg10", false, false },
        [MON_PSI_CPU_FULL_AVG10] = { "psi_cpu_full_avg10", false, false },
        [MON_PSI_MEMORY_SOME_AVG10] = { "psi_memory_some_avg10", false, false },
        [MON_PSI_MEMORY_FULL_AVG10] = { "psi_memory_full_avg10", false, false },
        [MON_PSI_IO_SOME_AVG10] = { "psi_io_some_avg10", false, false },
        [MON_PSI_IO_FULL_AVG10] = { "psi_io_full_avg10", false, false },
        [MON_PSI_CPU_SOME_SECONDS] = { "psi_cpu_some_seconds", true, true },
        [MON_PSI_CPU_FULL_SECONDS] = { "psi_cpu_full_seconds", true, false },
        [MON_PSI_MEMORY_SOME_SECONDS] = { "psi_memory_some_seconds", true, true },
        [MON_PSI_MEMORY_FULL_SECONDS] = { "psi_memory_full_seconds", true, false },
        [MON_PSI_IO_SOME_SECONDS] = { "psi_io_some_seconds", true, true },
        [MON_PSI_IO_FULL_SECONDS] = { "psi_io_full_seconds", true, false },
        [MON_GOROUTINES] = { "goroutines", false, true },
        [MON_GO_THREADS_CREATED] = { "go_threads_created", false, true },
        [MON_HEAP_INUSE_BYTES] = { "heap_inuse_bytes", false, true },
        [MON_HEAP_ALLOC_BYTES] = { "heap_alloc_bytes", false, false },
        [MON_NEXT_GC_BYTES] = { "next_gc_bytes", false, true },
        [MON_GC_PAUSE_SECONDS] = { "gc_pause_seconds", true, true },
        [MON_GC_PAUSES] = { "gc_pauses", true, false },
        [MON_RT_GOMAXPROCS] = { "runtime_gomaxprocs", false, false },
        [MON_RT_GOMEMLIMIT_BYTES] = { "runtime_gomemlimit_bytes", false, false },
        [MON_G_RUNNING] = { "goroutines_running", false, false },
        [MON_G_RUNNABLE] = { "goroutines_runnable", false, true },
        [MON_G_WAITING] = { "goroutines_waiting", false, true },
        [MON_G_CREATED] = { "goroutines_created", true, false },
        [MON_SCHED_GOMAXPROCS] = { "sched_gomaxprocs", false, false },
        [MON_SCHED_IDLEPROCS] = { "sched_idleprocs", false, false },
        [MON_SCHED_THREADS] = { "sched_threads", false, true },
        [MON_SCHED_SPINNING] = { "sched_spinningthreads", false, false },
        [MON_SCHED_IDLETHREADS] = { "sched_idlethreads", false, false },
        [MON_SCHED_RUNQUEUE] = { "sched_runqueue", false, true },
        [MON_GC_CYCLES] = { "gc_cycles", true, false },
        [MON_GC_CPU_FRACTION] = { "gc_cpu_fraction", false, true },
        [MON_GC_HEAP_GOAL_BYTES] = { "gc_heap_goal_bytes", false, false },
        [MON_GC_HEAP_LIVE_BYTES] = { "gc_heap_live_bytes", false, true },
};

const struct mon_metric_info *mon_metric_info(enum mon_metric m) {
        return (unsigned)m < MON__COUNT ? &infos[m] : NULL;
}

int mon_metric_from_name(const char *name) {
        for (int m = 0; m < MON__COUNT; m++)
                if (strcmp(infos[m].name, name) == 0)
                        return m;
        return -EINVAL;
}

static const char *const error_names[MON_ERR__COUNT] = {
        [MON_ERR_CONNECT] = "connect", [MON_ERR_TIMEOUT] = "timeout", [MON_ERR_RESET] = "reset",
        [MON_ERR_PARSE] = "parse",     [MON_ERR_TOO_BIG] = "too_big", [MON_ERR_STATUS] = "status",
        [MON_ERR_BODY] = "body",       [MON_ERR_SYSTEM] = "system",
};

const char *mon_scrape_error_name(enum mon_scrape_error e) {
        return (unsigned)e < MON_ERR__COUNT ? error_names[e] : NULL;
}

const double mon_duration_bounds[MON_DURATION_BUCKETS] = {
        0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025, 0.1,
};

/* gorral's own cgroup directories (sysroot included), per hierarchy. */
struct self_dirs {
        char *v2, *cpu, *cpuacct, *memory, *pids;
        char *quota_cpu_stat;        /* cpu.stat beside the tightest quota, or NULL */
        double quota_cores;          /* that quota, in cores; 0 none */
};

struct monitor {
        struct loop *loop;
        char *sysroot;               /* NULL: "/" */
        char *proc_root;             /* sysroot + /proc */
        struct self_dirs self;
        bool self_resolved;
        struct mon_stats stats;
};

/* One endpoint of a service. */
struct scrape {
        struct mon_service *ms;
        struct http_client *client;
        bool pprof;
        uint64_t row;                /* the row it was started for */
        bool failing;                /* the last one failed (logged once per streak) */
};

struct mon_service {
        struct monitor *m;
        double cur[MON__COUNT];      /* the newest row, every column (NaN: a gap) */
        uint64_t cur_usec;           /* its time; 0: no row yet */
        char *name;
        uint64_t interval_usec;
        struct loop_timer timer;
        struct series *series;
        uint64_t row;                /* rows begun, this one included */
        bool reset_next;             /* the next row starts a new process */
        bool running;
        pid_t pid;
        struct proc_sampler *main;
        struct proc_group *group;
        struct cg_sampler *cg;
        bool cg_failing, proc_failing;
        bool own_cgroup;             /* the cgroup is the service's, not gorral's */
        struct scrape metrics, pprof;
        uint64_t errors[MON_ERR__COUNT];
        /* The latest trace lines, kept until a row takes them. */
        bool have_sched, have_gc;
        struct go_sched sched;
        struct go_gc gc;
        uint64_t sched_usec, gc_usec;
        uint64_t schedtrace_usec;
        bool tracing, trace_passthrough, trace_oom;
        struct gotrace_stream trace;
        struct output_stream *err_stream; /* during a filter call or while the stream lives */
        struct loop_timer expire_timer;
        char *go_version, *go_module;
        double quota_cores;          /* of this start's quota holder; 0 none */
        /* Pressure is read every other sample (PSI_EVERY): in between, the
         * newest row (status, /metrics, the detectors) shows the last values
         * read, the series a gap. */
        double psi_last[MON_PSI_IO_FULL_SECONDS - MON_PSI_CPU_SOME_AVG10 + 1];
        bool psi_have;
        double ctx_last[2];          /* the main thread's context switches, last read */
        bool ctx_have;
        /* dump.sigquit: stderr is read so that a SIGQUIT dump can be kept;
         * while capturing, every byte of it is also copied here. */
        bool capture_allowed, capturing;
        char *capture;
        size_t capture_len, capture_cap;
        bool cur_reset;              /* the newest row starts a new process */
        mon_row_cb row_cb;
        void *row_userdata;
};

/* ---- gorral's own cgroup ---- */

static char *under_root(const struct monitor *m, const char *path) {
        char *p;

        if (asprintf(&p, "%s%s", m->sysroot ? m->sysroot : "", path) < 0)
                return NULL;
        return p;
}

static void self_dirs_done(struct self_dirs *d) {
        free(d->v2);
        free(d->cpu);
        free(d->cpuacct);
        free(d->memory);
        free(d->pids);
        free(d->quota_cpu_stat);
        *d = (struct self_dirs){ 0 };
}

/* The cpu.stat beside the tightest CPU quota of gorral's cgroup (subpath
 * NULL) or a service's, and that quota in cores; both left as they are
 * when none is found. The quota walk alone, and the kernel places the
 * cgroup (no mountinfo). */
static void quota_holder(const struct monitor *m, const char *subpath, char **ret_stat, double *ret_cores) {
        struct cg_limits lim = { 0 };

        if (cg_read_limits_opt(m->sysroot, 0, subpath, CG_READ_CPU, &lim) >= 0 && lim.cpu_limited && lim.cpu_file) {
                char *slash = strrchr(lim.cpu_file, '/');

                if (slash) {
                        *slash = '\0';
                        *ret_stat = path_join(lim.cpu_file, "cpu.stat");
                }
                if (lim.cpu_period_us)
                        *ret_cores = (double)lim.cpu_quota_us / (double)lim.cpu_period_us;
        }
        cg_limits_done(&lim);
}

/* The cgroup directories of gorral itself, from mountinfo and
 * /proc/self/cgroup (as cg_read_limits() finds them), and the quota
 * holder from the quota walk (CG_READ_CPU). Failures leave a directory
 * out: its values are then absent. */
static void resolve_self(struct monitor *m) {
        _cleanup_free_ char *mi_path = under_root(m, "/proc/self/mountinfo"), *cg_path = under_root(m, "/proc/self/cgroup");
        _cleanup_free_ char *mi = NULL, *cgb = NULL;
        struct cg_mount *mounts = NULL;
        struct cg_member *mem = NULL;
        size_t nm = 0, nmem = 0, len;
        unsigned line;
        static const char *const ctrls[] = { NULL, "cpu", "cpuacct", "memory", "pids" };
        char **dst[] = { &m->self.v2, &m->self.cpu, &m->self.cpuacct, &m->self.memory, &m->self.pids };

        m->self_resolved = true;
        if (!mi_path || !cg_path || read_file(mi_path, GR_READ_MAX, &mi, &len) < 0 ||
            cg_parse_mountinfo(mi, len, &mounts, &nm, &line) < 0)
                goto out;
        if (read_file(cg_path, GR_READ_MAX, &cgb, &len) < 0 || cg_parse_proc_cgroup(cgb, len, &mem, &nmem, &line) < 0)
                goto out;
        for (size_t i = 0; i < ELEMENTSOF(ctrls); i++) {
                struct cg_dir d = { 0 };

                if (cg_resolve(mounts, nm, mem, nmem, ctrls[i], &d) == 0 && (ctrls[i] || d.v2))
                        *dst[i] = under_root(m, d.dir);
                cg_dir_done(&d);
        }
        quota_holder(m, NULL, &m->self.quota_cpu_stat, &m->self.quota_cores);
out:
        cg_mounts_free(mounts, nm);
        cg_members_free(mem, nmem);
}

int monitor_new(struct loop *l, const char *sysroot, struct monitor **ret) {
        struct monitor *m = calloc(1, sizeof *m);

        if (!m)
                return -ENOMEM;
        m->loop = l;
        if (sysroot && *sysroot && strcmp(sysroot, "/") != 0 && !(m->sysroot = strdup(sysroot)))
                goto oom;
        if (!(m->proc_root = under_root(m, "/proc")))
                goto oom;
        *ret = m;
        return 0;
oom:
        monitor_free(m);
        return -ENOMEM;
}

struct monitor *monitor_free(struct monitor *m) {
        if (!m)
                return NULL;
        self_dirs_done(&m->self);
        free(m->sysroot);
        free(m->proc_root);
        free(m);
        return NULL;
}

const struct mon_stats *monitor_stats(const struct monitor *m) { return &m->stats; }

/* ---- one row ---- */

/* The series column of each metric kept in it, or -1. */
static int column_of[MON__COUNT];
static unsigned n_columns;

static void columns_init(void) {
        if (n_columns)
                return;
        for (int m = 0; m < MON__COUNT; m++)
                column_of[m] = infos[m].kept ? (int)n_columns++ : -1;
}

int mon_series_column(enum mon_metric m) {
        columns_init();
        return (unsigned)m < MON__COUNT ? column_of[m] : -1;
}

static void put(struct mon_service *ms, enum mon_metric k, double v) {
        ms->cur[k] = v;
        if (column_of[k] >= 0)
                (void)series_put(ms->series, (unsigned)column_of[k], v);
}

static void put_u(struct mon_service *ms, const struct cg_usage *u, enum cg_usage_field f, enum mon_metric k,
                  double scale) {
        uint64_t v;

        if (cg_usage_get(u, f, &v))
                put(ms, k, (double)v * scale);
}

/* Said once per streak of failures: the file, the pid and why. */
static void proc_failed(struct mon_service *ms, const struct proc_read_error *e, int r) {
        char why[160];

        if (ms->proc_failing)
                return;
        ms->proc_failing = true;
        if (r == -EBADMSG && e->where.reason)
                snprintf(why, sizeof why, "line %u, column %u: %s", e->where.line, e->where.column, e->where.reason);
        else
                snprintf(why, sizeof why, "%s", strerror(-r));
        log_event(LOG_LEVEL_WARN, "sample_error", "service", ms->name, "file", e->file ? e->file : "/proc",
                  "pid", LF_INT(e->pid), "error", why, NULL);
}

/* The main process's own figures: its threads, and its main thread's
 * context switches (the kernel counts per thread; summing every thread's
 * status would cost a read per thread per sample). */
static void put_main(struct mon_service *ms, const struct proc_sample *s) {
        if (s->present & PROC_HAS_THREADS)
                put(ms, MON_THREADS_MAIN, (double)s->threads);
        if (s->present & PROC_HAS_CTXSW) {
                put(ms, MON_CTXSW_VOLUNTARY, (double)s->voluntary_ctxt_switches);
                put(ms, MON_CTXSW_INVOLUNTARY, (double)s->nonvoluntary_ctxt_switches);
                ms->ctx_last[0] = (double)s->voluntary_ctxt_switches;
                ms->ctx_last[1] = (double)s->nonvoluntary_ctxt_switches;
                ms->ctx_have = true;
        } else if (ms->ctx_have) {
                /* status is read every CTX_EVERY-th sample: the newest row
                 * keeps the last counts (they are not in the series). */
                ms->cur[MON_CTXSW_VOLUNTARY] = ms->ctx_last[0];
                ms->cur[MON_CTXSW_INVOLUNTARY] = ms->ctx_last[1];
        }
}

static void sample_proc(struct mon_service *ms) {
        struct proc_sample s;
        struct proc_read_error err = { 0 };
        int r;
        bool ok = true;

        if (ms->main) {
                /* No group: the main process is the service. */
                r = proc_sampler_read(ms->main, &s, &err);
                if (r == -ESRCH)
                        ms->main = proc_sampler_free(ms->main);
                else if (r < 0) {
                        proc_failed(ms, &err, r);
                        ok = false;
                } else {
                        put_main(ms, &s);
                        put(ms, MON_PROCS, 1);
                        if (s.present & PROC_HAS_THREADS)
                                put(ms, MON_THREADS, (double)s.threads);
                        if (s.present & PROC_HAS_RSS)
                                put(ms, MON_RSS_BYTES, (double)s.rss_bytes);
                        if (s.present & PROC_HAS_CPU)
                                put(ms, MON_PROC_CPU_SECONDS, (double)(s.utime_usec + s.stime_usec) / 1e6);
                        if (s.present & PROC_HAS_FDS)
                                put(ms, MON_FDS, (double)s.fds);
                }
        }
        if (ms->group) {
                struct proc_group_sample g;

                r = proc_group_read(ms->group, &g, &err);
                if (r < 0) {
                        proc_failed(ms, &err, r);
                        return;
                }
                /* The main process is one of the group's, read once. */
                if (g.has_main)
                        put_main(ms, &g.main);
                put(ms, MON_PROCS, g.n_summed);
                if (g.sum.present & PROC_HAS_THREADS)
                        put(ms, MON_THREADS, (double)g.sum.threads);
                if (g.sum.present & PROC_HAS_RSS)
                        put(ms, MON_RSS_BYTES, (double)g.sum.rss_bytes);
                if (g.sum.present & PROC_HAS_CPU)
                        put(ms, MON_PROC_CPU_SECONDS, (double)(g.sum.utime_usec + g.sum.stime_usec) / 1e6);
                if (g.sum.present & PROC_HAS_FDS)
                        put(ms, MON_FDS, (double)g.sum.fds);
        }
        if (ok)
                ms->proc_failing = false;
}

static void put_psi(struct mon_service *ms, const struct cg_pressure *p, enum mon_metric some_avg,
                    enum mon_metric full_avg, enum mon_metric some_s, enum mon_metric full_s) {
        /* avg10 is kept in hundredths of a percent: back to the percent
         * the kernel printed. */
        if (p->has_some) {
                put(ms, some_avg, p->some.avg10 / 100.0);
                put(ms, some_s, (double)p->some.total_usec / 1e6);
        }
        if (p->has_full) {
                put(ms, full_avg, p->full.avg10 / 100.0);
                put(ms, full_s, (double)p->full.total_usec / 1e6);
        }
}

static void sample_cgroup(struct mon_service *ms) {
        const struct cg_sample_error *errs = NULL;
        struct cg_usage u;
        uint64_t v;
        int nerr;

        if (!ms->cg)
                return;
        nerr = cg_sampler_read(ms->cg, &u, &errs);
        if (nerr > 0 && !ms->cg_failing) {
                for (int i = 0; i < nerr; i++)
                        log_event(LOG_LEVEL_WARN, "sample_error", "service", ms->name, "file", errs[i].file, "error",
                                  errs[i].message, NULL);
        }
        ms->cg_failing = nerr > 0;
        /* A cgroup shared with gorral (and other services) is not the
         * service's CPU: only its own cgroup's usage is taken. */
        if (ms->own_cgroup)
                put_u(ms, &u, CG_U_CPU_USAGE_USEC, MON_CG_CPU_SECONDS, 1e-6);
        put_u(ms, &u, CG_U_CPU_NR_PERIODS, MON_CPU_PERIODS, 1);
        put_u(ms, &u, CG_U_CPU_NR_THROTTLED, MON_CPU_THROTTLED_PERIODS, 1);
        if (cg_usage_throttled_usec(&u, &v))
                put(ms, MON_CPU_THROTTLED_SECONDS, (double)v / 1e6);
        put_u(ms, &u, CG_U_MEM_CURRENT_BYTES, MON_MEM_BYTES, 1);
        if (cg_usage_get(&u, CG_U_MEM_MAX_BYTES, &v) && v != UINT64_MAX)
                put(ms, MON_MEM_LIMIT_BYTES, (double)v);
        {
                uint64_t q, per;

                if (cg_usage_get(&u, CG_U_CPU_QUOTA_USEC, &q) && q != UINT64_MAX &&
                    cg_usage_get(&u, CG_U_CPU_PERIOD_USEC, &per) && per > 0)
                        put(ms, MON_CPU_QUOTA_CORES, (double)q / (double)per);
        }
        put_u(ms, &u, CG_U_MEM_EVENTS_HIGH, MON_MEM_HIGH_EVENTS, 1);
        if (!(u.present & (UINT64_C(1) << CG_U_MEM_EVENTS_MAX)))
                put_u(ms, &u, CG_U_MEM_FAILCNT, MON_MEM_MAX_EVENTS, 1);
        else
                put_u(ms, &u, CG_U_MEM_EVENTS_MAX, MON_MEM_MAX_EVENTS, 1);
        put_u(ms, &u, CG_U_MEM_EVENTS_OOM, MON_OOM_EVENTS, 1);
        put_u(ms, &u, CG_U_MEM_OOM_KILL, MON_OOM_KILLS, 1);
        put_u(ms, &u, CG_U_PIDS_CURRENT, MON_PIDS, 1);
        if (cg_usage_get(&u, CG_U_PIDS_MAX, &v) && v != UINT64_MAX)
                put(ms, MON_PIDS_MAX, (double)v);
        put_psi(ms, &u.pressure[CG_PSI_CPU], MON_PSI_CPU_SOME_AVG10, MON_PSI_CPU_FULL_AVG10, MON_PSI_CPU_SOME_SECONDS,
                MON_PSI_CPU_FULL_SECONDS);
        put_psi(ms, &u.pressure[CG_PSI_MEMORY], MON_PSI_MEMORY_SOME_AVG10, MON_PSI_MEMORY_FULL_AVG10,
                MON_PSI_MEMORY_SOME_SECONDS, MON_PSI_MEMORY_FULL_SECONDS);
        put_psi(ms, &u.pressure[CG_PSI_IO], MON_PSI_IO_SOME_AVG10, MON_PSI_IO_FULL_AVG10, MON_PSI_IO_SOME_SECONDS,
                MON_PSI_IO_FULL_SECONDS);
        if (u.pressure[CG_PSI_CPU].has_some || u.pressure[CG_PSI_MEMORY].has_some || u.pressure[CG_PSI_IO].has_some) {
                memcpy(ms->psi_last, &ms->cur[MON_PSI_CPU_SOME_AVG10], sizeof ms->psi_last);
                ms->psi_have = true;
        } else if (ms->psi_have)
                memcpy(&ms->cur[MON_PSI_CPU_SOME_AVG10], ms->psi_last, sizeof ms->psi_last);
}

/* The trace lines received since the previous row (older ones are not
 * this row's: a gap says the service stopped tracing). */
static void sample_traces(struct mon_service *ms, uint64_t now) {
        uint64_t fresh = ms->interval_usec + ms->schedtrace_usec;

        if (ms->have_sched && now - ms->sched_usec <= fresh) {
                put(ms, MON_SCHED_GOMAXPROCS, (double)ms->sched.gomaxprocs);
                put(ms, MON_SCHED_IDLEPROCS, (double)ms->sched.idleprocs);
                put(ms, MON_SCHED_THREADS, (double)ms->sched.threads);
                put(ms, MON_SCHED_SPINNING, (double)ms->sched.spinningthreads);
                put(ms, MON_SCHED_IDLETHREADS, (double)ms->sched.idlethreads);
                put(ms, MON_SCHED_RUNQUEUE, (double)(ms->sched.runqueue + ms->sched.runq_sum));
        }
        /* A GC line comes only when a GC ran: its values hold until the
         * next, as the runtime's own do. */
        if (ms->have_gc) {
                put(ms, MON_GC_CYCLES, (double)ms->gc.num);
                put(ms, MON_GC_CPU_FRACTION, (double)ms->gc.cpu_percent / 100.0);
                put(ms, MON_GC_HEAP_GOAL_BYTES, (double)ms->gc.goal_bytes);
                put(ms, MON_GC_HEAP_LIVE_BYTES, (double)ms->gc.heap_live_bytes);
        }
}

/* ---- the endpoints ---- */

static enum mon_scrape_error from_http(enum http_error e) {
        switch (e) {
        case HTTP_ERR_CONNECT: return MON_ERR_CONNECT;
        case HTTP_ERR_TIMEOUT: return MON_ERR_TIMEOUT;
        case HTTP_ERR_RESET: return MON_ERR_RESET;
        case HTTP_ERR_PARSE: return MON_ERR_PARSE;
        case HTTP_ERR_TOO_BIG: return MON_ERR_TOO_BIG;
        case HTTP_ERR_STATUS: return MON_ERR_STATUS;
        default: return MON_ERR_SYSTEM;
        }
}

static void scrape_failed(struct scrape *sc, enum mon_scrape_error e, const char *message) {
        struct mon_service *ms = sc->ms;

        ms->errors[e]++;
        if (!sc->failing)
                log_event(LOG_LEVEL_WARN, "scrape_error", "service", ms->name, "endpoint",
                          sc->pprof ? "pprof" : "metrics", "reason", mon_scrape_error_name(e), "error", message, NULL);
        sc->failing = true;
}

static const struct {
        enum go_metric g;
        enum mon_metric m;
} go_map[] = {
        { GO_METRIC_GOROUTINES, MON_GOROUTINES },
        { GO_METRIC_THREADS, MON_GO_THREADS_CREATED },
        { GO_METRIC_HEAP_INUSE_BYTES, MON_HEAP_INUSE_BYTES },
        { GO_METRIC_HEAP_ALLOC_BYTES, MON_HEAP_ALLOC_BYTES },
        { GO_METRIC_NEXT_GC_BYTES, MON_NEXT_GC_BYTES },
        { GO_METRIC_GC_DURATION_SUM, MON_GC_PAUSE_SECONDS },
        { GO_METRIC_GC_DURATION_COUNT, MON_GC_PAUSES },
        { GO_METRIC_GOMAXPROCS, MON_RT_GOMAXPROCS },
        { GO_METRIC_GOROUTINES_RUNNING, MON_G_RUNNING },
        { GO_METRIC_GOROUTINES_RUNNABLE, MON_G_RUNNABLE },
        { GO_METRIC_GOROUTINES_WAITING, MON_G_WAITING },
        { GO_METRIC_GOROUTINES_CREATED, MON_G_CREATED },
};

static void scrape_done(struct http_client *c _unused_, const struct http_result *r, void *userdata) {
        struct scrape *sc = userdata;
        struct mon_service *ms = sc->ms;
        char msg[192];

        /* The service stopped while it ran: a refused or cut connection
         * then says nothing about the service. */
        if (!ms->running)
                return;
        if (r->error != HTTP_OK) {
                scrape_failed(sc, from_http(r->error), r->message ? r->message : http_error_name(r->error));
                return;
        }
        /* A scrape finishing after its row was overtaken has lost its
         * place: its values are not the newer row's. */
        if (sc->row != ms->row)
                return;
        if (sc->pprof) {
                uint64_t total;
                int e = pprof_parse_goroutine_total(r->body, r->body_len, &total);

                if (e < 0) {
                        snprintf(msg, sizeof msg, "no \"goroutine profile: total N\" line (%s)",
                                 e == -ENOMSG ? "a debug=2 body: ask for ?debug=1" : "not a pprof count profile");
                        scrape_failed(sc, MON_ERR_BODY, msg);
                        return;
                }
                /* go_goroutines, when the metrics endpoint has it, wins
                 * (whichever answer comes first). */
                if (isnan(ms->cur[MON_GOROUTINES]))
                        put(ms, MON_GOROUTINES, (double)total);
        } else {
                struct go_metrics g;
                struct promtext_error pe = { 0 };
                int e = promtext_go_extract(r->body, r->body_len, promtext_format_from_content_type(r->content_type),
                                            &g, &pe);

                if (e < 0) {
                        snprintf(msg, sizeof msg, "body line %u, column %u: %s", pe.line, pe.column,
                                 e == -EBADMSG ? pe.message : strerror(-e));
                        scrape_failed(sc, MON_ERR_BODY, msg);
                        return;
                }
                for (size_t i = 0; i < ELEMENTSOF(go_map); i++)
                        if (go_metrics_has(&g, go_map[i].g))
                                put(ms, go_map[i].m, g.value[go_map[i].g]);
                /* math.MaxInt64 is "no limit". */
                if (go_metrics_has(&g, GO_METRIC_GOMEMLIMIT_BYTES) && g.value[GO_METRIC_GOMEMLIMIT_BYTES] < 9.2e18)
                        put(ms, MON_RT_GOMEMLIMIT_BYTES, g.value[GO_METRIC_GOMEMLIMIT_BYTES]);
        }
        if (sc->failing)
                log_event(LOG_LEVEL_INFO, "scrape_ok", "service", ms->name, "endpoint", sc->pprof ? "pprof" : "metrics",
                          NULL);
        sc->failing = false;
}

static void scrape_start(struct scrape *sc) {
        int r;

        if (!sc->client)
                return;
        if (http_client_busy(sc->client)) {
                /* Cannot happen with the total timeout under the interval;
                 * counted rather than assumed. */
                scrape_failed(sc, MON_ERR_TIMEOUT, "the previous scrape is still running");
                return;
        }
        sc->row = sc->ms->row;
        r = http_client_get(sc->client, sc->pprof ? NULL : "text/plain;version=0.0.4;q=1,*/*;q=0.1", scrape_done, sc);
        if (r < 0)
                scrape_failed(sc, MON_ERR_SYSTEM, strerror(-r));
}

/* The next multiple of the interval on the monotonic clock: services with
 * the same interval are sampled in the same wakeup (one timerfd expiry
 * and one epoll_wait for all of them, not one each: with 50 services the
 * wakeups, not the reads, were most of gorral's CPU). At least half an
 * interval away, so a start just before a boundary waits for the next. */
static uint64_t next_tick(const struct mon_service *ms, uint64_t now) {
        uint64_t i = ms->interval_usec, t = (now / i + 1) * i;

        return t - now < i / 2 ? t + i : t;
}

static void on_sample(struct loop *l, void *userdata) {
        struct mon_service *ms = userdata;
        struct mon_stats *st = &ms->m->stats;
        uint64_t t0 = now_usec(), t1;
        double secs;

        (void)loop_timer_arm(l, &ms->timer, next_tick(ms, t0));
        /* The previous row is complete now (its scrapes answered or timed
         * out within the interval): the detectors read it. */
        if (ms->cur_usec && ms->row_cb)
                ms->row_cb(ms->row_userdata, ms->cur, ms->cur_usec, ms->cur_reset);
        ms->cur_reset = ms->reset_next;
        series_begin(ms->series, t0, ms->reset_next ? SERIES_RESET : 0);
        for (int k = 0; k < MON__COUNT; k++)
                ms->cur[k] = NAN;
        ms->cur_usec = t0;
        ms->reset_next = false;
        ms->row++;
        sample_proc(ms);
        sample_cgroup(ms);
        sample_traces(ms, t0);
        t1 = now_usec();
        scrape_start(&ms->metrics);
        scrape_start(&ms->pprof);

        st->samples++;
        secs = (double)(t1 - t0) / 1e6;
        st->duration_count++;
        st->duration_sum += secs;
        for (int b = 0; b < MON_DURATION_BUCKETS; b++)
                if (secs <= mon_duration_bounds[b]) {
                        st->duration_buckets[b]++;
                        break;
                }
}

/* ---- a service ---- */

#define PSI_EVERY 2
#define CTX_EVERY 4
#define PSI_EVERY_MAX_INTERVAL_USEC (10 * UINT64_C(1000000))

static int client_for(struct mon_service *ms, struct scrape *sc, const char *url, const char *sock, bool pprof) {
        /* A scrape ends before the next row begins: a target that never
         * answers costs one sample, not a pile of them. */
        struct http_client_opts o = {
                .connect_timeout_usec = ms->interval_usec < HTTP_CONNECT_TIMEOUT_USEC ? ms->interval_usec * 8 / 10
                                                                                      : HTTP_CONNECT_TIMEOUT_USEC,
                .total_timeout_usec = ms->interval_usec < HTTP_TOTAL_TIMEOUT_USEC ? ms->interval_usec * 9 / 10
                                                                                  : HTTP_TOTAL_TIMEOUT_USEC,
        };

        _cleanup_free_ char *with_debug = NULL;

        sc->ms = ms;
        sc->pprof = pprof;
        if (!url)
                return 0;
        /* The count is in the debug=1 page: a bare .../goroutine (the
         * gzipped protobuf) gets ?debug=1 added. */
        if (pprof && !strstr(url, "debug=")) {
                if (asprintf(&with_debug, "%s%sdebug=1", url, strchr(url, '?') ? "&" : "?") < 0)
                        return -ENOMEM;
                url = with_debug;
        }
        return http_client_new(ms->m->loop, url, sock, &o, &sc->client);
}

static void on_trace_expire(struct loop *l, void *userdata);

int mon_service_new(struct monitor *m, const struct config_service *spec, struct mon_service **ret) {
        struct mon_service *ms;
        int r;

        *ret = NULL;
        if (!spec->watch)
                return 0;
        ms = calloc(1, sizeof *ms);
        if (!ms)
                return -ENOMEM;
        ms->m = m;
        ms->interval_usec = spec->sample_interval_usec ? spec->sample_interval_usec : 5000000;
        ms->schedtrace_usec = spec->schedtrace_usec;
        ms->tracing = spec->schedtrace_usec > 0 || spec->gctrace;
        ms->capture_allowed = spec->dump_sigquit;
        ms->trace_passthrough = spec->trace_passthrough;
        loop_timer_init(&ms->timer, on_sample, ms);
        loop_timer_init(&ms->expire_timer, on_trace_expire, ms);
        if (!(ms->name = strdup(spec->name)))
                goto oom;
        columns_init();
        for (int k = 0; k < MON__COUNT; k++)
                ms->cur[k] = NAN;
        r = series_new(n_columns, MON_ROWS, &ms->series);
        if (r < 0)
                goto fail;
        r = client_for(ms, &ms->metrics, spec->metrics_url, spec->scrape_socket, false);
        if (r >= 0)
                r = client_for(ms, &ms->pprof, spec->pprof_url, spec->scrape_socket, true);
        if (r < 0)
                goto fail;
        *ret = ms;
        return 0;
oom:
        r = -ENOMEM;
fail:
        mon_service_free(ms);
        return r;
}

static void close_samplers(struct mon_service *ms) {
        ms->main = proc_sampler_free(ms->main);
        ms->group = proc_group_free(ms->group);
        ms->cg = cg_sampler_free(ms->cg);
}

struct mon_service *mon_service_free(struct mon_service *ms) {
        if (!ms)
                return NULL;
        loop_timer_disarm(ms->m->loop, &ms->timer);
        loop_timer_disarm(ms->m->loop, &ms->expire_timer);
        gotrace_stream_done(&ms->trace);
        close_samplers(ms);
        http_client_free(ms->metrics.client);
        http_client_free(ms->pprof.client);
        series_free(ms->series);
        free(ms->go_version);
        free(ms->go_module);
        free(ms->capture);
        free(ms->name);
        free(ms);
        return NULL;
}

/* dir + "/" + subpath, or NULL when dir is. */
static char *sub(const char *dir, const char *subpath) {
        return dir ? (subpath ? path_join(dir, subpath) : strdup(dir)) : NULL;
}

static void read_buildinfo(struct mon_service *ms, pid_t pid) {
        struct go_buildinfo b = { 0 };
        char exe[64];

        free(ms->go_version);
        free(ms->go_module);
        ms->go_version = ms->go_module = NULL;
        /* The process's own binary, as it was exec'd (the sysroot is for
         * recorded trees; a live process is always under /proc). */
        snprintf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
        if (buildinfo_read(exe, &b) < 0)
                return;
        ms->go_version = b.go_version ? strdup(b.go_version) : NULL;
        ms->go_module = b.main_module ? strdup(b.main_module) : b.path ? strdup(b.path) : NULL;
        buildinfo_done(&b);
}

void mon_service_started(struct mon_service *ms, pid_t pid, const char *cgroup_subpath) {
        struct monitor *m;
        _cleanup_free_ char *v2 = NULL, *cpu = NULL, *cpuacct = NULL, *memory = NULL, *pids = NULL, *quota = NULL,
                            *quota_dir = NULL;
        unsigned ctx_every;
        int r;

        if (!ms)
                return;
        m = ms->m;
        close_samplers(ms);
        ms->pid = pid;
        ms->running = true;
        ms->reset_next = true;
        ms->have_sched = ms->have_gc = false;
        ms->own_cgroup = cgroup_subpath != NULL;
        if (!m->self_resolved)
                resolve_self(m);
        ms->quota_cores = cgroup_subpath ? 0 : m->self.quota_cores;
        ms->psi_have = ms->ctx_have = false;
        v2 = sub(m->self.v2, cgroup_subpath);
        cpu = sub(m->self.cpu, cgroup_subpath);
        cpuacct = sub(m->self.cpuacct, cgroup_subpath);
        memory = sub(m->self.memory, cgroup_subpath);
        /* A service's own cgroup has no pids hierarchy of its own on v1
         * (cgsvc makes cpu, memory and freezer ones): its pids are
         * gorral's there, which is not the service's count. */
        pids = cgroup_subpath ? NULL : sub(m->self.pids, NULL);
        if (cgroup_subpath)
                /* Its own quota, or the nearest ancestor's: read at every
                 * start of the service. */
                quota_holder(m, cgroup_subpath, &quota, &ms->quota_cores);
        else if (m->self.quota_cpu_stat)
                quota = strdup(m->self.quota_cpu_stat);
        if (quota) {
                /* The quota itself beside the holder's cpu.stat: a resize in
                 * place (limit_change) is seen there. */
                const char *slash = strrchr(quota, '/');

                if (slash && slash > quota)
                        quota_dir = strndup(quota, (size_t)(slash - quota));
        }
        {
                /* The pressure files are half of a sample's cost (2.3 us each
                 * here); their averages are the kernel's own over 10 s and
                 * more and their totals are counters: at intervals up to
                 * 10 s, every other sample loses little. */
                struct cg_sampler_paths p = {
                        .v2_dir = v2, .cpu_dir = cpu, .cpuacct_dir = cpuacct, .memory_dir = memory,
                        .pids_dir = pids, .quota_cpu_stat = quota, .quota_dir = quota_dir,
                        .pressure_every = ms->interval_usec <= PSI_EVERY_MAX_INTERVAL_USEC ? PSI_EVERY : 1,
                };

                r = cg_sampler_open(&p, &ms->cg);
                if (r < 0)
                        log_event(LOG_LEVEL_WARN, "sample_error", "service", ms->name, "error", strerror(-r), NULL);
        }
        /* Its own cgroup: every process in it counts, the main process
         * among them, whose own figures come from the same read. The main
         * thread's status (context switches) is the dearest file of a
         * sample: every CTX_EVERY-th one at intervals up to 10 s. */
        ctx_every = ms->interval_usec <= PSI_EVERY_MAX_INTERVAL_USEC ? CTX_EVERY : 1;
        if (cgroup_subpath && (v2 || cpu))
                (void)proc_group_open(m->proc_root, v2 ? v2 : cpu, PROC_SAMPLE_DEFAULT, &ms->group);
        if (ms->group)
                proc_group_set_main(ms->group, pid, PROC_SAMPLE_CTXSW, ctx_every);
        else {
                r = proc_sampler_open(m->proc_root, pid, PROC_SAMPLE_CTXSW | PROC_SAMPLE_FDS, &ms->main);
                if (ms->main)
                        proc_sampler_status_every(ms->main, ctx_every);
                if (r < 0 && r != -ESRCH && r != -ENOENT)
                        log_event(LOG_LEVEL_WARN, "sample_error", "service", ms->name, "pid", LF_INT(pid), "error",
                                  strerror(-r), NULL);
        }
        read_buildinfo(ms, pid);
        (void)loop_timer_arm(m->loop, &ms->timer, next_tick(ms, now_usec()));
}

void mon_service_stopped(struct mon_service *ms) {
        if (!ms)
                return;
        /* The last row goes to the detectors with the cgroup read once more:
         * an OOM kill that ended the process is counted by now. */
        if (ms->cur_usec && ms->row_cb) {
                sample_cgroup(ms);
                ms->row_cb(ms->row_userdata, ms->cur, ms->cur_usec, ms->cur_reset);
        }
        /* Its newest row described a process that is gone: status and
         * /metrics say nothing rather than the last live values (the
         * series keeps them). */
        for (int k = 0; k < MON__COUNT; k++)
                ms->cur[k] = NAN;
        ms->cur_usec = 0;
        ms->running = false;
        loop_timer_disarm(ms->m->loop, &ms->timer);
        close_samplers(ms);
}

/* ---- the traces on stderr ---- */

static void trace_emit(const struct gotrace_event *ev, void *userdata) {
        struct mon_service *ms = userdata;

        switch (ev->type) {
        case GOTRACE_PASSTHROUGH:
                if (ms->err_stream)
                        output_stream_pass(ms->err_stream, ev->data, ev->len);
                break;
        case GOTRACE_SCHED:
                ms->sched = *ev->sched;
                ms->have_sched = true;
                ms->sched_usec = now_usec();
                break;
        case GOTRACE_GC:
                ms->gc = *ev->gc;
                ms->have_gc = true;
                ms->gc_usec = now_usec();
                break;
        }
}

#define CAPTURE_MAX ((size_t)32 << 20)   /* a SIGQUIT dump of ~150k goroutines */

static void capture_add(struct mon_service *ms, const char *buf, size_t n) {
        if (ms->capture_len + n > CAPTURE_MAX)
                n = CAPTURE_MAX - ms->capture_len;
        if (n == 0 || GROW_ARRAY(ms->capture, ms->capture_cap, ms->capture_len + n, CAPTURE_MAX) < 0)
                return;       /* a dump cut short is still grouped (marked truncated) */
        memcpy(ms->capture + ms->capture_len, buf, n);
        ms->capture_len += n;
}

static void trace_feed(void *userdata, struct output_stream *s, const char *buf, size_t n) {
        struct mon_service *ms = userdata;

        if (ms->capturing)
                capture_add(ms, buf, n);
        if (!ms->tracing) {
                output_stream_pass(s, buf, n);
                return;
        }
        ms->err_stream = s;
        if (gotrace_feed(&ms->trace, buf, n, trace_emit, ms) < 0 && !ms->trace_oom) {
                ms->trace_oom = true;
                log_msg(LOG_LEVEL_WARN, -ENOMEM, "service %s: cannot hold a trace line, passing it through", ms->name);
        }
        /* Lines held for a trace line still being written go out if it
         * does not complete soon. */
        if (gotrace_pending(&ms->trace))
                (void)loop_timer_arm_in(ms->m->loop, &ms->expire_timer, GOTRACE_EXPIRE_USEC);
        else
                loop_timer_disarm(ms->m->loop, &ms->expire_timer);
}

static void trace_finish(void *userdata, struct output_stream *s) {
        struct mon_service *ms = userdata;

        if (!ms->tracing)
                return;
        ms->err_stream = s;
        loop_timer_disarm(ms->m->loop, &ms->expire_timer);
        gotrace_finish(&ms->trace, trace_emit, ms);
        ms->err_stream = NULL;
}

static void on_trace_expire(struct loop *l _unused_, void *userdata) {
        struct mon_service *ms = userdata;

        if (ms->err_stream)
                gotrace_expire(&ms->trace, trace_emit, ms);
}

bool mon_service_stderr_filter(struct mon_service *ms, struct output_filter *ret) {
        if (!ms || (!ms->tracing && !ms->capture_allowed))
                return false;
        ms->capturing = false;
        ms->capture_len = 0;
        if (!ms->tracing) {
                *ret = (struct output_filter){ .feed = trace_feed, .finish = trace_finish, .userdata = ms };
                return true;
        }
        /* A new stream (a new start): the trace state starts over. */
        gotrace_stream_done(&ms->trace);
        if (gotrace_stream_init(&ms->trace, ms->trace_passthrough) < 0)
                return false;
        *ret = (struct output_filter){ .feed = trace_feed, .finish = trace_finish, .userdata = ms };
        return true;
}

const struct gotrace_stats *mon_service_trace_stats(const struct mon_service *ms) {
        return ms && ms->tracing ? &ms->trace.stats : NULL;
}

const struct series *mon_service_series(const struct mon_service *ms) { return ms->series; }
double mon_service_quota_cores(const struct mon_service *ms) { return ms->quota_cores; }

bool mon_service_capture_begin(struct mon_service *ms) {
        if (!ms || !ms->capture_allowed)
                return false;
        ms->capturing = true;
        ms->capture_len = 0;
        return true;
}

size_t mon_service_capture_take(struct mon_service *ms, char **ret) {
        size_t n = ms ? ms->capture_len : 0;

        *ret = NULL;
        if (!ms || !ms->capturing)
                return 0;
        ms->capturing = false;
        *ret = ms->capture;
        ms->capture = NULL;
        ms->capture_len = ms->capture_cap = 0;
        return n;
}

void mon_service_set_row_cb(struct mon_service *ms, mon_row_cb cb, void *userdata) {
        ms->row_cb = cb;
        ms->row_userdata = userdata;
}
const uint64_t *mon_service_scrape_errors(const struct mon_service *ms) { return ms->errors; }
const char *mon_service_go_version(const struct mon_service *ms) { return ms->go_version; }
const char *mon_service_go_module(const struct mon_service *ms) { return ms->go_module; }

bool mon_service_last(const struct mon_service *ms, enum mon_metric m, double *ret) {
        if ((unsigned)m >= MON__COUNT || isnan(ms->cur[m]))
                return false;
        *ret = ms->cur[m];
        return true;
}

const double *mon_service_sample(const struct mon_service *ms, uint64_t *ret_usec) {
        if (ret_usec)
                *ret_usec = ms->cur_usec;
        return ms->cur;
}
