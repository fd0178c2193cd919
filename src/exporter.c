/* exporter.c: the /metrics body (see exporter.h). */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/detect.h"
#include "gorral/exporter.h"
#include "gorral/monitor.h"
#include "gorral/util.h"

struct out {
        char *b;
        size_t len, cap;
        bool oom;
};

static void put(struct out *o, const char *s, size_t n) {
        if (o->oom)
                return;
        if (o->len + n + 1 > o->cap) {
                size_t nc = o->cap ? o->cap : 4096;
                char *nb;

                while (nc < o->len + n + 1)
                        nc *= 2;
                nb = realloc(o->b, nc);
                if (!nb) {
                        o->oom = true;
                        return;
                }
                o->b = nb;
                o->cap = nc;
        }
        memcpy(o->b + o->len, s, n);
        o->len += n;
        o->b[o->len] = '\0';
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

static void _printf_(2, 3) putf(struct out *o, const char *fmt, ...) {
        char b[256];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(b, sizeof b, fmt, ap);
        va_end(ap);
        if (n > 0)
                put(o, b, (size_t)n < sizeof b ? (size_t)n : sizeof b - 1);
}

/* A label value, escaped as the text format wants. */
static void put_label_value(struct out *o, const char *v) {
        const char *start = v;

        for (; *v; v++) {
                const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;

                if (esc) {
                        put(o, start, (size_t)(v - start));
                        puts_(o, esc);
                        start = v + 1;
                }
        }
        put(o, start, (size_t)(v - start));
}

static void put_value(struct out *o, double v) {
        if (isnan(v))
                puts_(o, "NaN");
        else if (isinf(v))
                puts_(o, v > 0 ? "+Inf" : "-Inf");
        else if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(int64_t)v)
                putf(o, "%.0f", v);
        else
                putf(o, "%.17g", v);
        puts_(o, "\n");
}

static void put_header(struct out *o, const char *name, const char *type, const char *help) {
        putf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{service="x"[,extra]} */
static void put_series(struct out *o, const char *name, const char *service, const char *extra) {
        puts_(o, name);
        puts_(o, "{service=\"");
        put_label_value(o, service);
        puts_(o, "\"");
        if (extra) {
                puts_(o, ",");
                puts_(o, extra);
        }
        puts_(o, "} ");
}

/* ---- per-service families ---- */

/* A value for one service, or false. */
typedef bool (*getter)(const struct exporter_service *s, int arg, double *ret);

static bool get_up(const struct exporter_service *s, int arg _unused_, double *ret) {
        *ret = s->up ? 1 : 0;
        return true;
}

static bool get_restarts(const struct exporter_service *s, int arg _unused_, double *ret) {
        *ret = (double)s->restarts;
        return true;
}

static bool get_exit(const struct exporter_service *s, int arg _unused_, double *ret) {
        *ret = s->last_exit;
        return s->has_exit;
}

static bool get_mon(const struct exporter_service *s, int m, double *ret) {
        if (!s->sample || m < 0 || m >= MON__COUNT || isnan(s->sample[m]))
                return false;
        *ret = s->sample[m];
        return true;
}

/* The first of several columns that has a value. */
static bool get_first(const struct exporter_service *s, const enum mon_metric *ms, size_t n, double *ret) {
        for (size_t i = 0; i < n; i++)
                if (get_mon(s, (int)ms[i], ret))
                        return true;
        return false;
}

/* What the runtime says it runs with, else what gorral set. */
static bool get_gomaxprocs(const struct exporter_service *s, int arg _unused_, double *ret) {
        static const enum mon_metric ms[] = { MON_SCHED_GOMAXPROCS, MON_RT_GOMAXPROCS };

        if (get_first(s, ms, ELEMENTSOF(ms), ret))
                return true;
        *ret = s->gomaxprocs;
        return s->has_gomaxprocs;
}

static bool get_gomemlimit(const struct exporter_service *s, int arg _unused_, double *ret) {
        static const enum mon_metric ms[] = { MON_RT_GOMEMLIMIT_BYTES };

        if (get_first(s, ms, ELEMENTSOF(ms), ret))
                return true;
        *ret = (double)s->gomemlimit;
        return s->has_gomemlimit;
}

/* The cgroup's CPU usage when the service has its own cgroup (it counts
 * children that exited), else its live processes' (a shared cgroup's
 * usage is not the service's). */
static bool get_cpu(const struct exporter_service *s, int arg _unused_, double *ret) {
        static const enum mon_metric ms[] = { MON_CG_CPU_SECONDS, MON_PROC_CPU_SECONDS };

        return get_first(s, ms, ELEMENTSOF(ms), ret);
}

static bool get_threads(const struct exporter_service *s, int arg _unused_, double *ret) {
        static const enum mon_metric ms[] = { MON_THREADS, MON_SCHED_THREADS };

        return get_first(s, ms, ELEMENTSOF(ms), ret);
}

struct family {
        const char *name, *type, *help;
        getter get;
        int arg;
        const char *labels;          /* extra labels, "k=\"v\"" */
        bool continues;              /* the next entry is the same family (other labels) */
};

#define MON(m) get_mon, m
static const struct family families[] = {
        { "gorral_service_up", "gauge", "1 when the service has a running process, else 0.", get_up, 0, NULL, false },
        { "gorral_service_restarts_total", "counter", "Restarts of the service since gorral started.", get_restarts,
          0, NULL, false },
        { "gorral_service_last_exit_code", "gauge", "The service's last exit status (128+N for signal N).",
          get_exit, 0, NULL, false },
        { "gorral_service_threads", "gauge", "OS threads of the service's processes (/proc Threads:).", get_threads,
          0, NULL, false },
        { "gorral_service_processes", "gauge", "Processes of the service (its cgroup's, or its main one).",
          MON(MON_PROCS), NULL, false },
        { "gorral_service_goroutines", "gauge", "Goroutines, from the service's metrics or pprof endpoint.",
          MON(MON_GOROUTINES), NULL, false },
        { "gorral_service_go_threads_created", "gauge",
          "OS threads the Go runtime created (client_golang go_threads; not the live count).",
          MON(MON_GO_THREADS_CREATED), NULL, false },
        { "gorral_service_gomaxprocs", "gauge",
          "GOMAXPROCS of the service: the runtime's own report (schedtrace, runtime/metrics), else what gorral set.",
          get_gomaxprocs, 0, NULL, false },
        { "gorral_service_gomemlimit_bytes", "gauge",
          "GOMEMLIMIT of the service: the runtime's report, else what gorral set.", get_gomemlimit, 0, NULL, false },
        { "gorral_service_cpu_seconds_total", "counter",
          "CPU time of the service: its cgroup's usage, else its live processes' user+system time.", get_cpu, 0,
          NULL, false },
        { "gorral_service_cpu_periods_total", "counter", "CFS periods elapsed in the cgroup that holds the quota.",
          MON(MON_CPU_PERIODS), NULL, false },
        { "gorral_service_cpu_throttled_periods_total", "counter",
          "CFS periods in which the service's cgroup was throttled.", MON(MON_CPU_THROTTLED_PERIODS), NULL, false },
        { "gorral_service_cpu_throttled_seconds_total", "counter", "Time the service's cgroup was throttled.",
          MON(MON_CPU_THROTTLED_SECONDS), NULL, false },
        { "gorral_service_memory_bytes", "gauge", "Memory charged to the service's cgroup.", MON(MON_MEM_BYTES), NULL,
          false },
        { "gorral_service_cpu_quota_cores", "gauge", "CPU quota of the service's cgroup (or the ancestor that holds it), in cores.",
          MON(MON_CPU_QUOTA_CORES), NULL, false },
        { "gorral_service_memory_limit_bytes", "gauge", "Memory limit of the service's cgroup.",
          MON(MON_MEM_LIMIT_BYTES), NULL, false },
        { "gorral_service_rss_bytes", "gauge", "Resident memory of the service's processes (/proc).",
          MON(MON_RSS_BYTES), NULL, false },
        { "gorral_service_open_fds", "gauge", "Open file descriptors of the service's processes.", MON(MON_FDS), NULL,
          false },
        { "gorral_service_context_switches_total", "counter",
          "Context switches of the service's main thread (the kernel counts them per thread).",
          MON(MON_CTXSW_VOLUNTARY), "kind=\"voluntary\"", true },
        { "gorral_service_context_switches_total", NULL, NULL, MON(MON_CTXSW_INVOLUNTARY), "kind=\"involuntary\"",
          false },
        { "gorral_service_oom_kills_total", "counter", "Processes of the service's cgroup killed by the OOM killer.",
          MON(MON_OOM_KILLS), NULL, false },
        { "gorral_service_memory_events_total", "counter", "Memory events of the service's cgroup.",
          MON(MON_MEM_HIGH_EVENTS), "event=\"high\"", true },
        { "gorral_service_memory_events_total", NULL, NULL, MON(MON_MEM_MAX_EVENTS), "event=\"max\"", true },
        { "gorral_service_memory_events_total", NULL, NULL, MON(MON_OOM_EVENTS), "event=\"oom\"", false },
        { "gorral_service_pids", "gauge", "Tasks in the service's cgroup (pids.current).", MON(MON_PIDS), NULL, false },
        { "gorral_service_pids_limit", "gauge", "pids.max of the service's cgroup.", MON(MON_PIDS_MAX), NULL, false },
        { "gorral_service_pressure_seconds_total", "counter",
          "Pressure stall time of the service's cgroup (PSI total).", MON(MON_PSI_CPU_SOME_SECONDS),
          "resource=\"cpu\",kind=\"some\"", true },
        { "gorral_service_pressure_seconds_total", NULL, NULL, MON(MON_PSI_CPU_FULL_SECONDS),
          "resource=\"cpu\",kind=\"full\"", true },
        { "gorral_service_pressure_seconds_total", NULL, NULL, MON(MON_PSI_MEMORY_SOME_SECONDS),
          "resource=\"memory\",kind=\"some\"", true },
        { "gorral_service_pressure_seconds_total", NULL, NULL, MON(MON_PSI_MEMORY_FULL_SECONDS),
          "resource=\"memory\",kind=\"full\"", true },
        { "gorral_service_pressure_seconds_total", NULL, NULL, MON(MON_PSI_IO_SOME_SECONDS),
          "resource=\"io\",kind=\"some\"", true },
        { "gorral_service_pressure_seconds_total", NULL, NULL, MON(MON_PSI_IO_FULL_SECONDS),
          "resource=\"io\",kind=\"full\"", false },
        { "gorral_service_heap_inuse_bytes", "gauge", "go_memstats_heap_inuse_bytes of the service.",
          MON(MON_HEAP_INUSE_BYTES), NULL, false },
        { "gorral_service_next_gc_bytes", "gauge", "The heap size of the service's next GC (go_memstats_next_gc_bytes).",
          MON(MON_NEXT_GC_BYTES), NULL, false },
        { "gorral_service_sched_runqueue", "gauge",
          "Runnable goroutines waiting in the global and per-P run queues (schedtrace).", MON(MON_SCHED_RUNQUEUE),
          NULL, false },
        { "gorral_service_sched_threads", "gauge", "OS threads by the scheduler's count (schedtrace threads=).",
          MON(MON_SCHED_THREADS), NULL, false },
        { "gorral_service_gc_cycles_total", "counter", "GC cycles of the service (gctrace).", MON(MON_GC_CYCLES), NULL,
          false },
        { "gorral_service_gc_cpu_fraction", "gauge", "Share of the service's CPU the GC took since it started "
          "(gctrace).", MON(MON_GC_CPU_FRACTION), NULL, false },
        { "gorral_service_gc_heap_goal_bytes", "gauge", "The heap goal of the service's last GC (gctrace).",
          MON(MON_GC_HEAP_GOAL_BYTES), NULL, false },
};
#undef MON

static void put_family(struct out *o, const struct family *f, size_t nf, const struct exporter_service *v,
                       size_t n) {
        bool any = false;
        double x;

        /* Written only when some service has a value (a family with no
         * sample says nothing true). */
        for (size_t k = 0; k < nf && !any; k++)
                for (size_t i = 0; i < n && !any; i++)
                        any = f[k].get(&v[i], f[k].arg, &x);
        if (!any)
                return;
        put_header(o, f[0].name, f[0].type, f[0].help);
        for (size_t k = 0; k < nf; k++)
                for (size_t i = 0; i < n; i++)
                        if (f[k].get(&v[i], f[k].arg, &x)) {
                                put_series(o, f[k].name, v[i].name, f[k].labels);
                                put_value(o, x);
                        }
}

static void put_scrape_errors(struct out *o, const struct exporter_service *v, size_t n) {
        bool any = false;

        for (size_t i = 0; i < n; i++)
                any |= v[i].scrape_errors != NULL;
        if (!any)
                return;
        put_header(o, "gorral_service_scrape_errors_total", "counter",
                   "Failed scrapes of the service's own endpoint, by reason.");
        for (size_t i = 0; i < n; i++) {
                const uint64_t *e;

                if (!(e = v[i].scrape_errors))
                        continue;
                for (int r = 0; r < MON_ERR__COUNT; r++) {
                        char l[64];

                        snprintf(l, sizeof l, "reason=\"%s\"", mon_scrape_error_name((enum mon_scrape_error)r));
                        put_series(o, "gorral_service_scrape_errors_total", v[i].name, l);
                        put_value(o, (double)e[r]);
                }
        }
}

static void put_info(struct out *o, const struct exporter_service *v, size_t n) {
        bool any = false;

        for (size_t i = 0; i < n; i++)
                any |= v[i].go_version != NULL;
        if (!any)
                return;
        put_header(o, "gorral_service_info", "gauge", "The Go version and main module of the service's binary.");
        for (size_t i = 0; i < n; i++) {
                if (!v[i].go_version)
                        continue;
                puts_(o, "gorral_service_info{service=\"");
                put_label_value(o, v[i].name);
                puts_(o, "\",go_version=\"");
                put_label_value(o, v[i].go_version);
                puts_(o, "\",module=\"");
                put_label_value(o, v[i].module ? v[i].module : "");
                puts_(o, "\"} 1\n");
        }
}

static void put_findings(struct out *o, const struct exporter_service *v, size_t n) {
        bool any = false;

        for (size_t i = 0; i < n; i++)
                any |= v[i].findings_total != NULL;
        if (!any)
                return;
        put_header(o, "gorral_finding_active", "gauge", "Findings of the detector active now for the service.");
        for (size_t i = 0; i < n; i++)
                for (int d = 0; v[i].findings_active && d < DETECTOR__COUNT; d++) {
                        char l[64];

                        snprintf(l, sizeof l, "detector=\"%s\"", detector_name((enum detector)d));
                        put_series(o, "gorral_finding_active", v[i].name, l);
                        put_value(o, (double)v[i].findings_active[d]);
                }
        put_header(o, "gorral_findings_total", "counter", "Findings the detector raised for the service.");
        for (size_t i = 0; i < n; i++)
                for (int d = 0; v[i].findings_total && d < DETECTOR__COUNT; d++) {
                        char l[64];

                        snprintf(l, sizeof l, "detector=\"%s\"", detector_name((enum detector)d));
                        put_series(o, "gorral_findings_total", v[i].name, l);
                        put_value(o, (double)v[i].findings_total[d]);
                }
        put_header(o, "gorral_finding_restarts_total", "counter", "Restarts of the service that a finding asked for.");
        for (size_t i = 0; i < n; i++)
                if (v[i].findings_total) {
                        put_series(o, "gorral_finding_restarts_total", v[i].name, NULL);
                        put_value(o, (double)v[i].finding_restarts);
                }
}

static void put_sink_series(struct out *o, const struct exporter_sink *k, const char *result, uint64_t v) {
        puts_(o, "gorral_alert_deliveries_total{sink=\"");
        put_label_value(o, k->name);
        puts_(o, "\",kind=\"");
        put_label_value(o, k->kind);
        putf(o, "\",result=\"%s\"} ", result);
        put_value(o, (double)v);
}

static void put_sinks(struct out *o, const struct exporter_self *self) {
        if (!self->n_sinks)
                return;
        put_header(o, "gorral_alert_deliveries_total", "counter",
                   "Deliveries to an alert destination by result: ok, failed (an attempt that will be retried or "
                   "given up), dropped (pushed out of a full queue), given_up (after every retry).");
        for (size_t i = 0; i < self->n_sinks; i++) {
                const struct exporter_sink *k = &self->sinks[i];

                put_sink_series(o, k, "ok", k->delivered);
                put_sink_series(o, k, "failed", k->failed);
                put_sink_series(o, k, "dropped", k->dropped);
                put_sink_series(o, k, "given_up", k->given_up);
        }
}

static void put_self(struct out *o, const struct exporter_self *self) {
        put_header(o, "gorral_build_info", "gauge", "gorral's version.");
        puts_(o, "gorral_build_info{version=\"");
        put_label_value(o, self->version);
        puts_(o, "\"} 1\n");
        put_header(o, "gorral_orphans_reaped_total", "counter", "Processes gorral reaped that were not its services.");
        puts_(o, "gorral_orphans_reaped_total ");
        put_value(o, (double)self->orphans_reaped);
        if (!self->stats)
                return;
        put_header(o, "gorral_samples_total", "counter", "Samples taken, every service.");
        puts_(o, "gorral_samples_total ");
        put_value(o, (double)self->stats->samples);
        put_header(o, "gorral_sample_duration_seconds", "histogram",
                   "Time gorral spent taking one sample of one service (procfs and cgroup files).");
        {
                uint64_t cum = 0;

                for (int b = 0; b < MON_DURATION_BUCKETS; b++) {
                        cum += self->stats->duration_buckets[b];
                        putf(o, "gorral_sample_duration_seconds_bucket{le=\"%g\"} ", mon_duration_bounds[b]);
                        put_value(o, (double)cum);
                }
                puts_(o, "gorral_sample_duration_seconds_bucket{le=\"+Inf\"} ");
                put_value(o, (double)self->stats->duration_count);
                puts_(o, "gorral_sample_duration_seconds_sum ");
                put_value(o, self->stats->duration_sum);
                puts_(o, "gorral_sample_duration_seconds_count ");
                put_value(o, (double)self->stats->duration_count);
        }
}

int exporter_format(const struct exporter_service *v, size_t n, const struct exporter_self *self, char **ret,
                    size_t *ret_len) {
        struct out o = { 0 };

        for (size_t k = 0; k < ELEMENTSOF(families);) {
                size_t nf = 1;

                while (families[k + nf - 1].continues)
                        nf++;
                put_family(&o, &families[k], nf, v, n);
                k += nf;
        }
        put_scrape_errors(&o, v, n);
        put_findings(&o, v, n);
        put_info(&o, v, n);
        put_sinks(&o, self);
        put_self(&o, self);
        if (o.oom || !o.b) {
                free(o.b);
                return -ENOMEM;
        }
        *ret = o.b;
        *ret_len = o.len;
        return 0;
}
