/* detect.c: the detectors, pure over a service's samples (detect.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/detect.h"
#include "gorral/leak.h"
#include "gorral/monitor.h"
#include "gorral/util.h"

static const char *const detector_names[DETECTOR__COUNT] = {
        [DETECTOR_THRESHOLD] = "threshold",   [DETECTOR_LEAK] = "leak",
        [DETECTOR_THREADS] = "threads",       [DETECTOR_THROTTLING] = "throttling",
        [DETECTOR_MEMORY] = "memory",         [DETECTOR_GC] = "gc",
        [DETECTOR_OOM] = "oom",               [DETECTOR_PRESSURE] = "pressure",
        [DETECTOR_LIMIT_CHANGE] = "limit_change",
        [DETECTOR_WATCHDOG] = "watchdog",
};

const char *detector_name(enum detector d) {
        return (unsigned)d < DETECTOR__COUNT ? detector_names[d] : NULL;
}

int detector_from_name(const char *s) {
        for (int d = 0; d < DETECTOR__COUNT; d++)
                if (strcmp(s, detector_names[d]) == 0)
                        return d;
        return -EINVAL;
}

const char *detect_severity_name(enum detect_severity s) {
        return s == DETECT_CRITICAL ? "critical" : "warning";
}

static const struct {
        const char *name;
        int column;                  /* enum mon_metric */
        double min_growth;           /* the default G floor, in the metric's unit */
} leak_metrics[DETECT_LEAK__COUNT] = {
        [DETECT_LEAK_GOROUTINES] = { "goroutines", MON_GOROUTINES, 50 },
        [DETECT_LEAK_THREADS] = { "threads", MON_THREADS, 10 },
        [DETECT_LEAK_RSS] = { "rss_bytes", MON_RSS_BYTES, 32.0 * 1024 * 1024 },
        [DETECT_LEAK_HEAP] = { "heap_bytes", MON_HEAP_INUSE_BYTES, 32.0 * 1024 * 1024 },
};

const char *detect_leak_metric_name(enum detect_leak_metric m) {
        return (unsigned)m < DETECT_LEAK__COUNT ? leak_metrics[m].name : NULL;
}

int detect_leak_metric_column(enum detect_leak_metric m) {
        return (unsigned)m < DETECT_LEAK__COUNT ? leak_metrics[m].column : -1;
}

void detect_config_init(struct detect_config *c) {
        memset(c, 0, sizeof *c);
        /* Every detector that needs no setting is on; threshold has none
         * until one is written. */
        for (int d = 0; d < DETECTOR__COUNT; d++)
                c->enabled[d] = d != DETECTOR_THRESHOLD;
        for (int m = 0; m < DETECT_LEAK__COUNT; m++) {
                c->leak_metric[m] = m != DETECT_LEAK_HEAP;
                leak_params_default(&c->leak[m], leak_metrics[m].min_growth);
        }
        c->leak_proof = true;
        c->threads_max = 10000;
        c->threads_above = 0.8;
        c->throttle_above = 0.2;
        c->throttle_window = 60;
        c->throttle_usage = 0.8;
        c->memory_above = 0.9;
        c->memory_for = 3;
        c->gc_cpu_above = 0.25;
        c->gc_heap_near = 0.9;
        c->gc_for = 3;
        c->oom_window = 300;
        c->pressure_above = 10;
        c->pressure_for = 3;
}

int detect_config_add_threshold(struct detect_config *c) {
        struct detect_threshold *t;

        if (c->n_threshold >= DETECT_THRESHOLDS_MAX)
                return -E2BIG;
        t = &c->threshold[c->n_threshold++];
        *t = (struct detect_threshold){ .metric = -1, .for_samples = 3, .severity = DETECT_WARNING };
        c->enabled[DETECTOR_THRESHOLD] = true;
        return 0;
}

/* ---- options ---- */

enum opt_kind { OPT_SHARE, OPT_NUMBER, OPT_PERCENT, OPT_SECONDS, OPT_COUNT, OPT_BYTES, OPT_BOOL };

static const char *const keys_threshold[] = { "enabled", "metric", "above", "below", "for", "severity", NULL };
static const char *const keys_leak[] = { "enabled", "metrics", "min_goroutines", "min_threads", "min_bytes",
                                         "min_ratio", "bucket", "warmup", "max_window", "proof", NULL };
static const char *const keys_threads[] = { "enabled", "max", "above", NULL };
static const char *const keys_throttling[] = { "enabled", "above", "window", "usage", NULL };
static const char *const keys_memory[] = { "enabled", "above", "for", NULL };
static const char *const keys_gc[] = { "enabled", "cpu_above", "heap_near", "for", NULL };
static const char *const keys_oom[] = { "enabled", "window", NULL };
static const char *const keys_pressure[] = { "enabled", "above", "for", NULL };
static const char *const keys_limit_change[] = { "enabled", NULL };
static const char *const keys_watchdog[] = { "enabled", NULL };

const char *const *detect_option_keys(enum detector d) {
        static const char *const *const keys[DETECTOR__COUNT] = {
                [DETECTOR_THRESHOLD] = keys_threshold,   [DETECTOR_LEAK] = keys_leak,
                [DETECTOR_THREADS] = keys_threads,       [DETECTOR_THROTTLING] = keys_throttling,
                [DETECTOR_MEMORY] = keys_memory,         [DETECTOR_GC] = keys_gc,
                [DETECTOR_OOM] = keys_oom,               [DETECTOR_PRESSURE] = keys_pressure,
                [DETECTOR_LIMIT_CHANGE] = keys_limit_change,
                [DETECTOR_WATCHDOG] = keys_watchdog,
        };
        return (unsigned)d < DETECTOR__COUNT ? keys[d] : NULL;
}

static int bad(char *err, size_t n, const char *key, const char *value, const char *why) {
        snprintf(err, n, "%s: '%s' %s", key, value, why);
        return -EINVAL;
}

/* One value of a kind into *ret (double; counts and bools as 0/1). */
static int parse_opt(enum opt_kind k, const char *key, const char *value, double *ret, char *err, size_t n) {
        uint64_t u;
        double v;

        switch (k) {
        case OPT_BOOL:
                if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "on") == 0)
                        *ret = 1;
                else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 || strcmp(value, "off") == 0)
                        *ret = 0;
                else
                        return bad(err, n, key, value, "is not true or false");
                return 0;
        case OPT_SECONDS:
                if (parse_duration_usec(value, &u) < 0 || u == 0 || u > UINT64_C(7) * 86400 * 1000000)
                        return bad(err, n, key, value, "is not a duration between 1us and 7 days (\"60s\", \"5m\")");
                *ret = (double)u / 1e6;
                return 0;
        case OPT_COUNT:
                if (parse_u64(value, &u) < 0 || u == 0 || u > 100000)
                        return bad(err, n, key, value, "is not a count of samples between 1 and 100000");
                *ret = (double)u;
                return 0;
        case OPT_BYTES:
                if (parse_size_bytes(value, &u) < 0 || u == 0)
                        return bad(err, n, key, value, "is not a size (\"32MiB\", bytes)");
                *ret = (double)u;
                return 0;
        case OPT_SHARE:
                if (parse_double(value, &v) < 0 || !(v > 0 && v <= 1))
                        return bad(err, n, key, value, "is not a share above 0 and at most 1 (\"0.8\")");
                *ret = v;
                return 0;
        case OPT_PERCENT:
                if (parse_double(value, &v) < 0 || !(v > 0 && v <= 100))
                        return bad(err, n, key, value, "is not a percentage above 0 and at most 100");
                *ret = v;
                return 0;
        case OPT_NUMBER:
                if (parse_double(value, &v) < 0)
                        return bad(err, n, key, value, "is not a number");
                *ret = v;
                return 0;
        }
        return -EINVAL;
}

static int set_leak_metrics(struct detect_config *c, const char *value, char *err, size_t n) {
        bool want[DETECT_LEAK__COUNT] = { false };
        const char *p = value;
        bool any = false;

        while (*p) {
                size_t len = strcspn(p, ",");
                int found = -1;

                for (int m = 0; m < DETECT_LEAK__COUNT; m++)
                        if (strlen(leak_metrics[m].name) == len && strncmp(p, leak_metrics[m].name, len) == 0)
                                found = m;
                if (found < 0) {
                        snprintf(err, n, "metrics: '%.*s' is not one of goroutines, threads, rss_bytes, heap_bytes",
                                 (int)len, p);
                        return -EINVAL;
                }
                want[found] = any = true;
                p += len;
                if (*p == ',')
                        p++;
        }
        if (!any)
                return bad(err, n, "metrics", value, "names no metric");
        memcpy(c->leak_metric, want, sizeof want);
        return 0;
}

bool detect_option_known(enum detector d, const char *key) {
        if ((unsigned)d >= DETECTOR__COUNT)
                return false;
        for (const char *const *k = detect_option_keys(d); *k; k++)
                if (strcmp(*k, key) == 0)
                        return true;
        return false;
}

int detect_config_set(struct detect_config *c, enum detector d, const char *key, const char *value, char *err,
                      size_t err_size) {
        double v;
        int r;

        if ((unsigned)d >= DETECTOR__COUNT)
                return -EINVAL;
        if (!detect_option_known(d, key))
                return -ENOENT;
        if (strcmp(key, "enabled") == 0) {
                r = parse_opt(OPT_BOOL, key, value, &v, err, err_size);
                if (r == 0)
                        c->enabled[d] = v != 0;
                return r;
        }
        switch (d) {
        case DETECTOR_THRESHOLD: {
                struct detect_threshold *t;

                if (c->n_threshold == 0 && (r = detect_config_add_threshold(c)) < 0)
                        return r;
                t = &c->threshold[c->n_threshold - 1];
                if (strcmp(key, "metric") == 0) {
                        int m = mon_metric_from_name(value);

                        if (m < 0)
                                return bad(err, err_size, key, value, "is not a metric of `gorral status --json`'s sample");
                        t->metric = m;
                        return 0;
                }
                if (strcmp(key, "severity") == 0) {
                        if (strcmp(value, "warning") == 0)
                                t->severity = DETECT_WARNING;
                        else if (strcmp(value, "critical") == 0)
                                t->severity = DETECT_CRITICAL;
                        else
                                return bad(err, err_size, key, value, "is not warning or critical");
                        return 0;
                }
                if (strcmp(key, "for") == 0) {
                        r = parse_opt(OPT_COUNT, key, value, &v, err, err_size);
                        if (r == 0)
                                t->for_samples = (unsigned)v;
                        return r;
                }
                /* above, below: a size suffix is taken for byte metrics. */
                {
                        uint64_t u;

                        if (parse_double(value, &v) < 0) {
                                if (parse_size_bytes(value, &u) < 0)
                                        return bad(err, err_size, key, value, "is not a number or a size");
                                v = (double)u;
                        }
                }
                if (strcmp(key, "above") == 0) {
                        t->has_above = true;
                        t->above = v;
                } else {
                        t->has_below = true;
                        t->below = v;
                }
                return 0;
        }
        case DETECTOR_LEAK:
                if (strcmp(key, "metrics") == 0)
                        return set_leak_metrics(c, value, err, err_size);
                if (strcmp(key, "proof") == 0) {
                        r = parse_opt(OPT_BOOL, key, value, &v, err, err_size);
                        if (r == 0)
                                c->leak_proof = v != 0;
                        return r;
                }
                if (strcmp(key, "min_goroutines") == 0 || strcmp(key, "min_threads") == 0) {
                        r = parse_opt(OPT_NUMBER, key, value, &v, err, err_size);
                        if (r == 0 && !(v >= 1))
                                r = bad(err, err_size, key, value, "is not a count of at least 1");
                        if (r == 0)
                                c->leak[key[4] == 'g' ? DETECT_LEAK_GOROUTINES : DETECT_LEAK_THREADS].min_growth = v;
                        return r;
                }
                if (strcmp(key, "min_bytes") == 0) {
                        r = parse_opt(OPT_BYTES, key, value, &v, err, err_size);
                        if (r == 0)
                                c->leak[DETECT_LEAK_RSS].min_growth = c->leak[DETECT_LEAK_HEAP].min_growth = v;
                        return r;
                }
                /* The time scales (leak.h), for every metric: bucket is the
                 * shortest sub-window (windows are 4 to 8 of them), warmup
                 * the stricter time after a start, max_window the longest
                 * window looked at. Short ones make short tests. */
                if (strcmp(key, "min_ratio") == 0) {
                        r = parse_opt(OPT_NUMBER, key, value, &v, err, err_size);
                        if (r == 0 && !(v >= 0 && v <= 10))
                                r = bad(err, err_size, key, value, "is not a share of the usual level from 0 to 10");
                } else if (strcmp(key, "warmup") == 0) {
                        uint64_t u;

                        if (parse_duration_usec(value, &u) < 0 || u > UINT64_C(86400) * 1000000)
                                r = bad(err, err_size, key, value, "is not a duration up to 24h (0: none)");
                        else {
                                r = 0;
                                v = (double)u / 1e6;
                        }
                } else
                        r = parse_opt(OPT_SECONDS, key, value, &v, err, err_size);
                if (r < 0)
                        return r;
                for (int m = 0; m < DETECT_LEAK__COUNT; m++) {
                        struct leak_params *lp = &c->leak[m];

                        if (strcmp(key, "min_ratio") == 0)
                                lp->min_growth_ratio = v;
                        else if (strcmp(key, "bucket") == 0)
                                lp->bucket_seconds = v;
                        else if (strcmp(key, "warmup") == 0)
                                lp->warmup_seconds = v;
                        else
                                lp->max_window_seconds = v;
                }
                return 0;
        case DETECTOR_THREADS:
                if (strcmp(key, "max") == 0) {
                        r = parse_opt(OPT_COUNT, key, value, &v, err, err_size);
                        if (r == 0)
                                c->threads_max = v;
                        return r;
                }
                return parse_opt(OPT_SHARE, key, value, &c->threads_above, err, err_size);
        case DETECTOR_THROTTLING:
                if (strcmp(key, "window") == 0)
                        return parse_opt(OPT_SECONDS, key, value, &c->throttle_window, err, err_size);
                return parse_opt(OPT_SHARE, key, value,
                                 strcmp(key, "above") == 0 ? &c->throttle_above : &c->throttle_usage, err, err_size);
        case DETECTOR_MEMORY:
                if (strcmp(key, "for") == 0) {
                        r = parse_opt(OPT_COUNT, key, value, &v, err, err_size);
                        if (r == 0)
                                c->memory_for = (unsigned)v;
                        return r;
                }
                return parse_opt(OPT_SHARE, key, value, &c->memory_above, err, err_size);
        case DETECTOR_GC:
                if (strcmp(key, "for") == 0) {
                        r = parse_opt(OPT_COUNT, key, value, &v, err, err_size);
                        if (r == 0)
                                c->gc_for = (unsigned)v;
                        return r;
                }
                return parse_opt(OPT_SHARE, key, value,
                                 strcmp(key, "cpu_above") == 0 ? &c->gc_cpu_above : &c->gc_heap_near, err, err_size);
        case DETECTOR_OOM:
                return parse_opt(OPT_SECONDS, key, value, &c->oom_window, err, err_size);
        case DETECTOR_PRESSURE:
                if (strcmp(key, "for") == 0) {
                        r = parse_opt(OPT_COUNT, key, value, &v, err, err_size);
                        if (r == 0)
                                c->pressure_for = (unsigned)v;
                        return r;
                }
                return parse_opt(OPT_PERCENT, key, value, &c->pressure_above, err, err_size);
        case DETECTOR_LIMIT_CHANGE:
        case DETECTOR_WATCHDOG:
        case DETECTOR__COUNT:
                break;
        }
        return -ENOENT;
}

int detect_config_check(const struct detect_config *c, char *err, size_t err_size) {
        for (unsigned i = 0; i < c->n_threshold; i++) {
                const struct detect_threshold *t = &c->threshold[i];

                if (t->metric < 0) {
                        snprintf(err, err_size, "threshold %u: no metric", i + 1);
                        return -EINVAL;
                }
                if (!t->has_above && !t->has_below) {
                        snprintf(err, err_size, "threshold %u (%s): neither above nor below", i + 1,
                                 mon_metric_info((enum mon_metric)t->metric)->name);
                        return -EINVAL;
                }
        }
        for (int m = 0; m < DETECT_LEAK__COUNT; m++) {
                const char *why = leak_params_invalid(&c->leak[m]);

                if (why) {
                        snprintf(err, err_size, "leak %s: %s", leak_metrics[m].name, why);
                        return -EINVAL;
                }
        }
        return 0;
}

/* ---- the engine ---- */

/* Slots: the thresholds, the leak metrics, then one per other detector. */
enum {
        SLOT_LEAK = DETECT_THRESHOLDS_MAX,
        SLOT_THREADS = SLOT_LEAK + DETECT_LEAK__COUNT,
        SLOT_THROTTLING,
        SLOT_MEMORY,
        SLOT_GC,
        SLOT_OOM,
        SLOT_PRESSURE,
        SLOT_LIMIT_CHANGE,
        SLOT_LIMIT_CHANGE_CPU,
        SLOT_WATCHDOG,
        SLOT__COUNT
};

/* Counters at a point, for windowed rates. */
#define WINDOW_RING 32
struct counters {
        double t, periods, throttled, cpu;
};

struct threshold_state {
        unsigned hits, misses;       /* samples in a row meeting / not meeting */
        double prev_t, prev_v;       /* counters: the previous value */
        bool have_prev;
};

struct detect {
        const struct detect_config *cfg;  /* the caller's: it outlives us (detect_new) */
        struct detect_context ctx;
        /* A slot's finding is allocated when it first fires: most
         * services never fire most detectors (600 bytes each). */
        struct detect_finding *slot[SLOT__COUNT];
        bool active[SLOT__COUNT];
        double last_t;
        bool have_t;
        double start_t;              /* of the process: the reset sample (or the first one) */
        struct threshold_state th[DETECT_THRESHOLDS_MAX];
        struct leak *leak[DETECT_LEAK__COUNT];
        /* throttling */
        struct counters ring[WINDOW_RING];
        unsigned ring_len, ring_head;
        double ring_step;            /* seconds between kept entries */
        /* memory, gc, pressure: samples in a row */
        unsigned mem_hits, mem_misses, gc_hits, gc_misses, psi_hits, psi_misses;
        double gc_prev_t, gc_prev_f;  /* the GC's cumulative fraction at the previous sample */
        bool gc_have_prev;
        /* oom */
        double oom_kills;            /* the last count seen (NaN none) */
        double oom_last_t;
        /* limit_change */
        double mem_limit_at_start;   /* NaN: not seen yet this start */
        double quota_at_start;       /* cores; NaN: not seen yet; +Inf: none */
};

int detect_new(const struct detect_config *c, struct detect **ret) {
        struct detect *d;
        char err[160];
        int r;

        if (detect_config_check(c, err, sizeof err) < 0)
                return -EINVAL;
        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->cfg = c;
        d->ctx = (struct detect_context){ .gomaxprocs = NAN, .gomemlimit_bytes = NAN, .host_cpus = NAN };
        d->oom_kills = NAN;
        d->mem_limit_at_start = NAN;
        d->quota_at_start = NAN;
        d->ring_step = c->throttle_window / (WINDOW_RING / 2);
        for (int m = 0; m < DETECT_LEAK__COUNT; m++) {
                if (!c->enabled[DETECTOR_LEAK] || !c->leak_metric[m])
                        continue;
                r = leak_new(&c->leak[m], &d->leak[m]);
                if (r < 0) {
                        detect_free(d);
                        return r;
                }
        }
        *ret = d;
        return 0;
}

struct detect *detect_free(struct detect *d) {
        if (!d)
                return NULL;
        for (int m = 0; m < DETECT_LEAK__COUNT; m++)
                leak_free(d->leak[m]);
        for (unsigned i = 0; i < SLOT__COUNT; i++)
                free(d->slot[i]);
        free(d);
        return NULL;
}

void detect_set_context(struct detect *d, const struct detect_context *ctx) {
        d->ctx = *ctx;
}

unsigned detect_slots(const struct detect *d _unused_) {
        return SLOT__COUNT;
}

const struct detect_finding *detect_slot(const struct detect *d, unsigned i) {
        return i < SLOT__COUNT && d->active[i] ? d->slot[i] : NULL;
}

static bool have(double v) {
        return !isnan(v);
}

/* Begin a finding in slot i (filled by the caller after), or NULL when it
 * is already active (or its memory cannot be had: then it is not said,
 * and tried again at the next sample). */
static struct detect_finding *fire_begin(struct detect *d, unsigned i, enum detector det, int metric,
                                         enum detect_severity sev, double since, double at) {
        struct detect_finding *f;

        if (d->active[i])
                return NULL;
        if (!d->slot[i] && !(d->slot[i] = malloc(sizeof *d->slot[i])))
                return NULL;
        f = d->slot[i];
        *f = (struct detect_finding){
                .detector = det, .metric = metric, .slot = i, .severity = sev, .active = true,
                .since = since, .at = at, .value = NAN, .threshold = NAN, .limit = NAN,
                .rate_per_hour = NAN, .growth = NAN, .baseline = NAN, .eta_seconds = NAN,
        };
        f->metric_name = metric >= 0 ? mon_metric_info((enum mon_metric)metric)->name : NULL;
        return f;
}

static void fire_end(struct detect *d, unsigned i, detect_cb cb, void *userdata) {
        d->active[i] = true;
        cb(userdata, d->slot[i]);
}

static void resolve(struct detect *d, unsigned i, double at, double value, detect_cb cb, void *userdata) {
        struct detect_finding *f = d->slot[i];

        if (!d->active[i])
                return;
        d->active[i] = false;
        f->active = false;
        f->at = at;
        if (have(value))
                f->value = value;
        cb(userdata, f);
}

/* "1.2k", "34.5 MiB": short human values for summaries. */
static void human(char *buf, size_t n, double v, bool bytes) {
        if (bytes) {
                const char *unit;
                double s = bytes_scaled(v, &unit);

                snprintf(buf, n, unit ? "%.1f %s" : "%.0f %s", s, unit ? unit : "B");
        } else if (fabs(v - round(v)) < 1e-9 && fabs(v) < 1e15)
                snprintf(buf, n, "%.0f", v);
        else
                snprintf(buf, n, "%.3g", v);
}

static void duration(char *buf, size_t n, double s) {
        if (s < 10)
                snprintf(buf, n, "%.3gs", s);
        else if (s < 120)
                snprintf(buf, n, "%.0fs", s);
        else if (s < 7200)
                snprintf(buf, n, "%.0fm", s / 60);
        else if (s < 172800)
                snprintf(buf, n, "%.1fh", s / 3600);
        else
                snprintf(buf, n, "%.1fd", s / 86400);
}

/* ---- threshold ---- */

static void feed_threshold(struct detect *d, const struct detect_sample *s, detect_cb cb, void *ud) {
        for (unsigned i = 0; i < d->cfg->n_threshold; i++) {
                const struct detect_threshold *t = &d->cfg->threshold[i];
                struct threshold_state *st = &d->th[i];
                const struct mon_metric_info *info = mon_metric_info((enum mon_metric)t->metric);
                double v = s->v[t->metric], x = v;
                bool met;

                if (s->reset)
                        st->have_prev = false;
                if (!have(v))
                        continue;        /* a gap neither holds nor breaks the count */
                if (info->counter) {
                        bool ok = st->have_prev && s->t > st->prev_t && v >= st->prev_v;

                        x = ok ? (v - st->prev_v) / (s->t - st->prev_t) : NAN;
                        st->prev_t = s->t;
                        st->prev_v = v;
                        st->have_prev = true;
                        if (!ok)
                                continue;
                }
                met = (t->has_above && x > t->above) || (t->has_below && x < t->below);
                if (met) {
                        st->misses = 0;
                        st->hits++;
                } else {
                        st->hits = 0;
                        st->misses++;
                }
                if (met && st->hits >= t->for_samples) {
                        struct detect_finding *f = fire_begin(d, i, DETECTOR_THRESHOLD, t->metric,
                                                              (enum detect_severity)t->severity, s->t, s->t);
                        char a[32];

                        if (!f)
                                continue;
                        f->value = x;
                        f->threshold = t->has_above && x > t->above ? t->above : t->below;
                        human(a, sizeof a, f->threshold, false);
                        snprintf(f->summary, sizeof f->summary, "%s%s is %.6g, %s %s for %u samples", info->name,
                                 info->counter ? " per second" : "", x,
                                 t->has_above && x > t->above ? "above" : "below", a, t->for_samples);
                        fire_end(d, i, cb, ud);
                } else if (!met && st->misses >= t->for_samples)
                        resolve(d, i, s->t, x, cb, ud);
        }
}

/* ---- leak ---- */

/* The limit a growing metric runs into: the memory limit or GOMEMLIMIT
 * for bytes, Go's thread limit or pids.max for threads. */
static double leak_limit(const struct detect *d, enum detect_leak_metric m, const double *v) {
        double lim = NAN;

        switch (m) {
        case DETECT_LEAK_THREADS:
                lim = d->cfg->threads_max;
                if (have(v[MON_PIDS_MAX]) && v[MON_PIDS_MAX] < lim)
                        lim = v[MON_PIDS_MAX];
                break;
        case DETECT_LEAK_RSS:
        case DETECT_LEAK_HEAP:
                lim = v[MON_MEM_LIMIT_BYTES];
                if (m == DETECT_LEAK_HEAP) {
                        double g = have(v[MON_RT_GOMEMLIMIT_BYTES]) ? v[MON_RT_GOMEMLIMIT_BYTES] : d->ctx.gomemlimit_bytes;

                        if (have(g) && (!have(lim) || g < lim))
                                lim = g;
                }
                break;
        default:
                break;
        }
        return lim;
}

static void leak_fill(struct detect *d, enum detect_leak_metric m, const double *v, struct detect_finding *f) {
        struct leak_finding lf;
        bool bytes = m == DETECT_LEAK_RSS || m == DETECT_LEAK_HEAP;
        char g[32], r[32], eta[80] = "";

        if (!leak_finding(d->leak[m], &lf))
                return;
        f->since = lf.began;
        f->rate_per_hour = lf.rate_per_hour;
        f->growth = lf.growth;
        f->value = lf.floor;
        f->baseline = lf.baseline;
        f->limit = leak_limit(d, m, v);
        f->eta_seconds = have(f->limit) ? leak_eta_seconds(&lf, f->limit) : NAN;
        human(g, sizeof g, lf.growth, bytes);
        human(r, sizeof r, lf.rate_per_hour, bytes);
        if (have(f->eta_seconds)) {
                char lim[32], dur[32];

                human(lim, sizeof lim, f->limit, bytes);
                duration(dur, sizeof dur, f->eta_seconds);
                snprintf(eta, sizeof eta, ", %s to %s", dur, lim);
        }
        snprintf(f->summary, sizeof f->summary, "%s grew by %s since its floor (%s/h)%s", leak_metrics[m].name, g, r,
                 eta);
}

static void feed_leak(struct detect *d, const struct detect_sample *s, detect_cb cb, void *ud) {
        for (int m = 0; m < DETECT_LEAK__COUNT; m++) {
                unsigned i = SLOT_LEAK + (unsigned)m;
                enum leak_event e;

                if (!d->leak[m])
                        continue;
                e = leak_feed(d->leak[m], s->t, s->v[leak_metrics[m].column], s->reset);
                if (e == LEAK_FIRE) {
                        struct detect_finding *f = fire_begin(d, i, DETECTOR_LEAK, leak_metrics[m].column,
                                                              m == DETECT_LEAK_THREADS ? DETECT_CRITICAL : DETECT_WARNING,
                                                              s->t, s->t);

                        if (!f)
                                continue;
                        f->metric_name = leak_metrics[m].name;
                        leak_fill(d, (enum detect_leak_metric)m, s->v, f);
                        fire_end(d, i, cb, ud);
                } else if (e == LEAK_RESOLVE && d->active[i]) {
                        leak_fill(d, (enum detect_leak_metric)m, s->v, d->slot[i]);
                        resolve(d, i, s->t, NAN, cb, ud);
                } else if (d->active[i])
                        leak_fill(d, (enum detect_leak_metric)m, s->v, d->slot[i]);
        }
}

/* ---- threads ---- */

static void feed_threads(struct detect *d, const struct detect_sample *s, detect_cb cb, void *ud) {
        double n = s->v[MON_THREADS], lim = d->cfg->threads_max, bound;
        const char *what = "Go's thread limit";

        if (!have(n))
                return;
        if (have(s->v[MON_PIDS_MAX]) && s->v[MON_PIDS_MAX] < lim) {
                lim = s->v[MON_PIDS_MAX];
                what = "pids.max";
        }
        bound = d->cfg->threads_above * lim;
        if (n >= bound) {
                struct detect_finding *f = fire_begin(d, SLOT_THREADS, DETECTOR_THREADS, MON_THREADS, DETECT_CRITICAL,
                                                      s->t, s->t);

                if (!f)
                        return;
                f->value = n;
                f->threshold = bound;
                f->limit = lim;
                snprintf(f->summary, sizeof f->summary, "%.0f OS threads, %.0f%% of %s (%.0f)%s", n, 100 * n / lim, what,
                         lim, strcmp(what, "pids.max") ? ": the runtime dies at the limit" : ": new threads will fail");
                fire_end(d, SLOT_THREADS, cb, ud);
        } else if (n < 0.9 * bound)
                resolve(d, SLOT_THREADS, s->t, n, cb, ud);
}

/* ---- throttling ---- */

static const struct counters *ring_at(const struct detect *d, unsigned k) {
        return &d->ring[(d->ring_head + WINDOW_RING - d->ring_len + k) % WINDOW_RING];
}

static void ring_push(struct detect *d, const struct counters *c) {
        if (d->ring_len > 0 && c->t - ring_at(d, d->ring_len - 1)->t < d->ring_step) {
                /* Too close to the last kept one: keep the window's memory
                 * bounded at WINDOW_RING entries; the newest still counts
                 * as the window's end (it is passed apart). */
                return;
        }
        d->ring[d->ring_head] = *c;
        d->ring_head = (d->ring_head + 1) % WINDOW_RING;
        if (d->ring_len < WINDOW_RING)
                d->ring_len++;
}

static double gomaxprocs_of(const struct detect *d, const double *v) {
        if (have(v[MON_RT_GOMAXPROCS]))
                return v[MON_RT_GOMAXPROCS];
        if (have(v[MON_SCHED_GOMAXPROCS]))
                return v[MON_SCHED_GOMAXPROCS];
        if (have(d->ctx.gomaxprocs))
                return d->ctx.gomaxprocs;
        /* Unset, before Go 1.25: the runtime took the host's CPU count. */
        if (d->ctx.go_minor && d->ctx.go_minor < 25)
                return d->ctx.host_cpus;
        return NAN;
}

static void feed_throttling(struct detect *d, const struct detect_sample *s, detect_cb cb, void *ud) {
        const double *v = s->v;
        struct counters now = { s->t, v[MON_CPU_PERIODS], v[MON_CPU_THROTTLED_PERIODS], v[MON_CG_CPU_SECONDS] };
        const struct counters *old = NULL;
        double dp, ratio, usage = NAN, procs;

        if (s->reset)
                d->ring_len = 0;
        if (!have(now.periods) || !have(now.throttled))
                return;
        /* The oldest entry at least a window old, else the oldest there is
         * once it spans most of the window. */
        for (unsigned k = d->ring_len; k-- > 0;) {
                const struct counters *c = ring_at(d, k);

                if (s->t - c->t >= d->cfg->throttle_window) {
                        old = c;
                        break;
                }
        }
        if (!old && d->ring_len > 0 && s->t - ring_at(d, 0)->t >= 0.75 * d->cfg->throttle_window)
                old = ring_at(d, 0);
        ring_push(d, &now);
        if (!old)
                return;
        dp = now.periods - old->periods;
        if (!(dp > 0) || now.throttled < old->throttled) {
                if (dp < 0)      /* counters went back: a new cgroup */
                        d->ring_len = 0;
                resolve(d, SLOT_THROTTLING, s->t, 0, cb, ud);
                return;
        }
        ratio = (now.throttled - old->throttled) / dp;
        if (d->ctx.quota_cores > 0 && have(now.cpu) && have(old->cpu) && now.t > old->t)
                usage = (now.cpu - old->cpu) / (now.t - old->t) / d->ctx.quota_cores;
        if (ratio > d->cfg->throttle_above && (!have(usage) || usage >= d->cfg->throttle_usage)) {
                struct detect_finding *f = fire_begin(d, SLOT_THROTTLING, DETECTOR_THROTTLING, MON_CPU_THROTTLED_PERIODS,
                                                      DETECT_WARNING, old->t, s->t);
                int w;

                if (!f)
                        return;
                f->value = ratio;
                f->threshold = d->cfg->throttle_above;
                f->limit = d->ctx.quota_cores > 0 ? d->ctx.quota_cores : NAN;
                w = snprintf(f->summary, sizeof f->summary, "throttled in %.0f%% of CPU periods over the last %.0fs",
                             100 * ratio, now.t - old->t);
                if (have(usage) && w > 0 && (size_t)w < sizeof f->summary)
                        snprintf(f->summary + w, sizeof f->summary - (size_t)w, ", using %.0f%% of a %.2g-core quota",
                                 100 * usage, d->ctx.quota_cores);
                procs = gomaxprocs_of(d, v);
                if (d->ctx.quota_cores > 0 && have(procs) && procs > ceil(d->ctx.quota_cores - 1e-9)) {
                        w = snprintf(f->cause, sizeof f->cause,
                                     "GOMAXPROCS=%.0f is above the CPU quota of %.2g cores: %.0f threads run Go code at "
                                     "once and spend each period's quota early, then wait for the next period%s",
                                     procs, d->ctx.quota_cores, procs,
                                     !have(d->ctx.gomaxprocs) && d->ctx.go_minor && d->ctx.go_minor < 25
                                             ? " (the Go < 1.25 default: the host's CPU count)"
                                             : "");
                } else if (d->ctx.quota_cores > 0)
                        w = snprintf(f->cause, sizeof f->cause,
                                     "the service needs more than its CPU quota of %.2g cores", d->ctx.quota_cores);
                else
                        w = 0;
                if (have(v[MON_SCHED_RUNQUEUE]) && w >= 0 && (size_t)w < sizeof f->cause)
                        snprintf(f->cause + w, sizeof f->cause - (size_t)w, "%srun queue %.0f (schedtrace)",
                                 w ? "; " : "", v[MON_SCHED_RUNQUEUE]);
                fire_end(d, SLOT_THROTTLING, cb, ud);
        } else if (ratio < d->cfg->throttle_above / 2)
                resolve(d, SLOT_THROTTLING, s->t, ratio, cb, ud);
}

/* ---- memory, gc, pressure: a share for N samples ---- */

/* Samples in a row that met the condition (*hits) and that did not
 * (*misses): a detector fires after enough of the one and resolves after
 * enough of the other. */
static void count(bool met, unsigned *hits, unsigned *misses) {
        if (met) {
                (*hits)++;
                *misses = 0;
        } else {
                (*misses)++;
                *hits = 0;
        }
}

static void feed_memory(struct detect *d, const struct detect_sample *s, detect_cb cb, void *ud) {
        double use = s->v[MON_MEM_BYTES], lim = s->v[MON_MEM_LIMIT_BYTES], share;

        if (!have(use) || !have(lim) || !(lim > 0) || lim > 9e18)
                return;
        share = use / lim;
        count(share >= d->cfg->memory_above, &d->mem_hits, &d->mem_misses);
        if (d->mem_hits >= d->cfg->memory_for) {
                struct detect_finding *f = fire_begin(d, SLOT_MEMORY, DETECTOR_MEMORY, MON_MEM_BYTES, DETECT_WARNING,
                                                      s->t, s->t);
                char u[32], l[32];

                if (!f)
                        return;
                f->value = use;
                f->threshold = d->cfg->memory_above * lim;
                f->limit = lim;
                human(u, sizeof u, use, true);
                human(l, sizeof l, lim, true);
                snprintf(f->summary, sizeof f->summary, "memory %s is %.0f%% of the limit %s", u, 100 * share, l);
                fire_end(d, SLOT_MEMORY, cb, ud);
        } else if (d->mem_misses >= d->cfg->memory_for && share < d->cfg->memory_above - 0.05)
                resolve(d, SLOT_MEMORY, s->t, use, cb, ud);
}

static void feed_gc(struct detect *d, const struct detect_sample *s, detect_cb cb, void *ud) {
        const double *v = s->v;
        double frac = v[MON_GC_CPU_FRACTION], recent = NAN, heap, limit;

        if (s->reset)
                d->gc_have_prev = false;
        /* gctrace's fraction is since the process started: the share over
         * the last interval is the difference of fraction x uptime. */
        if (have(frac)) {
                double up = s->t - d->start_t;

                if (d->gc_have_prev && up > d->gc_prev_t && d->gc_prev_t > 0)
                        recent = (frac * up - d->gc_prev_f * d->gc_prev_t) / (up - d->gc_prev_t);
                d->gc_prev_t = up;
                d->gc_prev_f = frac;
                d->gc_have_prev = true;
        }
        heap = have(v[MON_GC_HEAP_LIVE_BYTES]) ? v[MON_GC_HEAP_LIVE_BYTES] : v[MON_HEAP_INUSE_BYTES];
        limit = have(v[MON_RT_GOMEMLIMIT_BYTES]) ? v[MON_RT_GOMEMLIMIT_BYTES] : d->ctx.gomemlimit_bytes;
        if (!have(recent) || !have(heap) || !have(limit) || !(limit > 0))
                return;
        count(recent > d->cfg->gc_cpu_above && heap >= d->cfg->gc_heap_near * limit, &d->gc_hits, &d->gc_misses);
        if (d->gc_hits >= d->cfg->gc_for) {
                struct detect_finding *f = fire_begin(d, SLOT_GC, DETECTOR_GC, MON_GC_CPU_FRACTION, DETECT_CRITICAL,
                                                      s->t, s->t);
                char h[32], l[32];

                if (!f)
                        return;
                f->value = recent;
                f->threshold = d->cfg->gc_cpu_above;
                f->limit = limit;
                human(h, sizeof h, heap, true);
                human(l, sizeof l, limit, true);
                snprintf(f->summary, sizeof f->summary,
                         "the GC takes %.0f%% of CPU with the heap at %s, %.0f%% of GOMEMLIMIT %s: raise the limit "
                         "or the memory, or find what holds the heap",
                         100 * recent, h, 100 * heap / limit, l);
                fire_end(d, SLOT_GC, cb, ud);
        } else if (d->gc_misses >= d->cfg->gc_for)
                resolve(d, SLOT_GC, s->t, recent, cb, ud);
}

static void feed_pressure(struct detect *d, const struct detect_sample *s, detect_cb cb, void *ud) {
        double p = s->v[MON_PSI_MEMORY_SOME_AVG10];

        if (!have(p))
                return;     /* read every other sample at most: a gap holds the count */
        count(p > d->cfg->pressure_above, &d->psi_hits, &d->psi_misses);
        if (d->psi_hits >= d->cfg->pressure_for) {
                struct detect_finding *f = fire_begin(d, SLOT_PRESSURE, DETECTOR_PRESSURE, MON_PSI_MEMORY_SOME_AVG10,
                                                      DETECT_WARNING, s->t, s->t);

                if (!f)
                        return;
                f->value = p;
                f->threshold = d->cfg->pressure_above;
                snprintf(f->summary, sizeof f->summary,
                         "memory pressure: some task stalled on memory %.1f%% of the last 10s (above %.3g%%)", p,
                         d->cfg->pressure_above);
                fire_end(d, SLOT_PRESSURE, cb, ud);
        } else if (d->psi_misses >= d->cfg->pressure_for)
                resolve(d, SLOT_PRESSURE, s->t, p, cb, ud);
}

/* ---- oom, limit_change ---- */

static void feed_oom(struct detect *d, const struct detect_sample *s, detect_cb cb, void *ud) {
        double k = s->v[MON_OOM_KILLS];

        if (have(k)) {
                /* The count is the cgroup's, kept across the service's
                 * restarts in its own cgroup: compare with the last one
                 * seen, whatever the reset; a smaller one is a new cgroup. */
                if (have(d->oom_kills) && k > d->oom_kills) {
                        struct detect_finding *f = d->slot[SLOT_OOM];
                        bool was = d->active[SLOT_OOM];

                        if (!was) {
                                f = fire_begin(d, SLOT_OOM, DETECTOR_OOM, MON_OOM_KILLS, DETECT_CRITICAL, s->t, s->t);
                                if (!f) {
                                        d->oom_kills = k;
                                        return;
                                }
                                f->growth = 0;
                        }
                        f->growth += k - d->oom_kills;
                        f->value = k;
                        snprintf(f->summary, sizeof f->summary,
                                 "the kernel's OOM killer killed %.0f process%s of the service's cgroup (memory limit "
                                 "reached)",
                                 f->growth, f->growth == 1 ? "" : "es");
                        if (!was)
                                fire_end(d, SLOT_OOM, cb, ud);
                        d->oom_last_t = s->t;
                }
                d->oom_kills = k;
        }
        if (d->active[SLOT_OOM] && s->t - d->oom_last_t >= d->cfg->oom_window)
                resolve(d, SLOT_OOM, s->t, NAN, cb, ud);
}

/* The CPU quota, in cores (+Inf: none), from a row where the CPU
 * files were read (periods counted); NaN: not known from this row. */
static double quota_of(const struct detect_sample *s) {
        if (have(s->v[MON_CPU_QUOTA_CORES]))
                return s->v[MON_CPU_QUOTA_CORES];
        return have(s->v[MON_CPU_PERIODS]) || have(s->v[MON_CG_CPU_SECONDS]) ? INFINITY : NAN;
}

static void cores(char *buf, size_t n, double c) {
        if (isinf(c))
                snprintf(buf, n, "none");
        else
                snprintf(buf, n, "%.3g core%s", c, c == 1 ? "" : "s");
}

/* A Go >= 1.25 runtime whose GOMAXPROCS gorral left unset re-reads the
 * quota itself: a CPU resize needs nothing from gorral then. */
static bool runtime_follows_quota(const struct detect *d) {
        return d->ctx.go_minor >= 25 && isnan(d->ctx.gomaxprocs);
}

static void feed_limit_change_cpu(struct detect *d, const struct detect_sample *s, detect_cb cb, void *ud) {
        double q = quota_of(s);
        char a[32], b[32];
        struct detect_finding *f;

        if (s->reset) {
                d->quota_at_start = NAN;
                resolve(d, SLOT_LIMIT_CHANGE_CPU, s->t, q, cb, ud);
        }
        if (isnan(q))
                return;
        if (isnan(d->quota_at_start)) {
                d->quota_at_start = q;
                return;
        }
        if (q == d->quota_at_start || runtime_follows_quota(d))
                return;
        f = fire_begin(d, SLOT_LIMIT_CHANGE_CPU, DETECTOR_LIMIT_CHANGE, MON_CPU_QUOTA_CORES, DETECT_WARNING, s->t, s->t);
        if (!f)
                return;
        f->value = q;
        f->threshold = d->quota_at_start;
        cores(a, sizeof a, d->quota_at_start);
        cores(b, sizeof b, q);
        snprintf(f->summary, sizeof f->summary,
                 "the CPU quota changed from %s to %s while the service runs: its GOMAXPROCS follows only after a "
                 "restart",
                 a, b);
        fire_end(d, SLOT_LIMIT_CHANGE_CPU, cb, ud);
}

static void feed_limit_change(struct detect *d, const struct detect_sample *s, detect_cb cb, void *ud) {
        double lim = s->v[MON_MEM_LIMIT_BYTES];

        feed_limit_change_cpu(d, s, cb, ud);
        if (s->reset) {
                d->mem_limit_at_start = NAN;
                /* The restart applied the new limit. */
                resolve(d, SLOT_LIMIT_CHANGE, s->t, lim, cb, ud);
        }
        if (!have(lim))
                return;
        if (!have(d->mem_limit_at_start)) {
                d->mem_limit_at_start = lim;
                return;
        }
        if (lim != d->mem_limit_at_start) {
                struct detect_finding *f = fire_begin(d, SLOT_LIMIT_CHANGE, DETECTOR_LIMIT_CHANGE, MON_MEM_LIMIT_BYTES,
                                                      DETECT_WARNING, s->t, s->t);
                char a[32], b[32];

                if (!f)
                        return;
                f->value = lim;
                f->threshold = d->mem_limit_at_start;
                human(a, sizeof a, d->mem_limit_at_start, true);
                human(b, sizeof b, lim, true);
                snprintf(f->summary, sizeof f->summary,
                         "the memory limit changed from %s to %s while the service runs: its GOMEMLIMIT follows only "
                         "after a restart",
                         lim > 9e18 ? "none" : a, lim > 9e18 ? "none" : b);
                fire_end(d, SLOT_LIMIT_CHANGE, cb, ud);
        }
}

void detect_feed(struct detect *d, const struct detect_sample *s, detect_cb cb, void *userdata) {
        if (d->have_t && !(s->t > d->last_t))
                return;
        if (s->reset || !d->have_t)
                d->start_t = s->t;
        d->have_t = true;
        d->last_t = s->t;
        if (d->cfg->enabled[DETECTOR_THRESHOLD])
                feed_threshold(d, s, cb, userdata);
        if (d->cfg->enabled[DETECTOR_LEAK])
                feed_leak(d, s, cb, userdata);
        if (d->cfg->enabled[DETECTOR_THREADS])
                feed_threads(d, s, cb, userdata);
        if (d->cfg->enabled[DETECTOR_THROTTLING])
                feed_throttling(d, s, cb, userdata);
        if (d->cfg->enabled[DETECTOR_MEMORY])
                feed_memory(d, s, cb, userdata);
        if (d->cfg->enabled[DETECTOR_GC])
                feed_gc(d, s, cb, userdata);
        if (d->cfg->enabled[DETECTOR_OOM])
                feed_oom(d, s, cb, userdata);
        if (d->cfg->enabled[DETECTOR_PRESSURE])
                feed_pressure(d, s, cb, userdata);
        if (d->cfg->enabled[DETECTOR_LIMIT_CHANGE])
                feed_limit_change(d, s, cb, userdata);
}

void detect_watchdog_missed(struct detect *d, double t, double interval, detect_cb cb, void *userdata) {
        struct detect_finding *f;
        char iv[32];

        if (!d->cfg->enabled[DETECTOR_WATCHDOG])
                return;
        f = fire_begin(d, SLOT_WATCHDOG, DETECTOR_WATCHDOG, -1, DETECT_CRITICAL, t - interval, t);
        if (!f)
                return;
        f->threshold = interval;
        duration(iv, sizeof iv, interval);
        snprintf(f->summary, sizeof f->summary,
                 "no WATCHDOG=1 from the service for %s (its watchdog interval): it is hung or too busy to ping", iv);
        fire_end(d, SLOT_WATCHDOG, cb, userdata);
}

void detect_stopped(struct detect *d, double t, detect_cb cb, void *userdata) {
        /* What the process did ended with it: a leak, throttling, a
         * threshold resolve (an Alertmanager alert then ends too), and a
         * leak that comes back after the restart is a new finding (leak.h
         * learns again from the reset sample). An OOM kill is about the
         * cgroup and often the very reason of the stop: it stays for its
         * window. */
        for (unsigned i = 0; i < SLOT__COUNT; i++)
                if (i != SLOT_OOM)
                        resolve(d, i, t, NAN, cb, userdata);
        d->mem_hits = d->gc_hits = d->psi_hits = 0;
        for (unsigned i = 0; i < d->cfg->n_threshold; i++)
                d->th[i].hits = 0;
}
