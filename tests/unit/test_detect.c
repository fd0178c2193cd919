/* Unit tests for detect.c: the option table shared by the config file and
 * the replay command, and each detector on synthetic rows. The leak
 * detector's shapes are test_leak.c's; here it is checked through the
 * engine (slots, resolution at a stop, the projected time to a limit). */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "gorral/detect.h"
#include "gorral/monitor.h"

struct events {
        unsigned fires, resolves;
        struct detect_finding last;
};

static void on_event(void *userdata, const struct detect_finding *f) {
        struct events *e = userdata;

        if (f->active)
                e->fires++;
        else
                e->resolves++;
        e->last = *f;
}

static void row_clear(double *v) {
        for (int k = 0; k < MON__COUNT; k++)
                v[k] = NAN;
}

static struct detect *only(enum detector d, struct detect_config *c) {
        struct detect *det = NULL;

        for (int k = 0; k < DETECTOR__COUNT; k++)
                c->enabled[k] = k == (int)d;
        cr_assert_eq(detect_new(c, &det), 0);
        return det;
}

static void feed(struct detect *d, double t, const double *v, bool reset, struct events *e) {
        struct detect_sample s = { .t = t, .reset = reset, .v = v };

        detect_feed(d, &s, on_event, e);
}

Test(detect, names_round_trip) {
        for (int d = 0; d < DETECTOR__COUNT; d++) {
                cr_expect_eq(detector_from_name(detector_name((enum detector)d)), d);
                cr_expect_not_null(detect_option_keys((enum detector)d));
        }
        cr_expect_eq(detector_from_name("leaks"), -EINVAL);
        cr_expect_eq(mon_metric_from_name("goroutines"), MON_GOROUTINES);
        cr_expect_eq(mon_metric_from_name("nope"), -EINVAL);
}

Test(detect, options_and_their_errors) {
        struct detect_config c;
        char err[192] = "";

        detect_config_init(&c);
        cr_expect(c.enabled[DETECTOR_LEAK] && !c.enabled[DETECTOR_THRESHOLD]);
        cr_expect(c.leak_metric[DETECT_LEAK_GOROUTINES] && !c.leak_metric[DETECT_LEAK_HEAP]);
        cr_expect_eq(c.leak[DETECT_LEAK_GOROUTINES].min_growth, 50);
        cr_expect_eq(c.leak[DETECT_LEAK_RSS].min_growth, 32.0 * 1024 * 1024);

        cr_expect_eq(detect_config_set(&c, DETECTOR_LEAK, "min_goroutines", "100", err, sizeof err), 0);
        cr_expect_eq(c.leak[DETECT_LEAK_GOROUTINES].min_growth, 100);
        cr_expect_eq(detect_config_set(&c, DETECTOR_LEAK, "min_bytes", "64MiB", err, sizeof err), 0);
        cr_expect_eq(c.leak[DETECT_LEAK_HEAP].min_growth, 64.0 * 1024 * 1024);
        cr_expect_eq(detect_config_set(&c, DETECTOR_LEAK, "metrics", "threads,heap_bytes", err, sizeof err), 0);
        cr_expect(!c.leak_metric[DETECT_LEAK_GOROUTINES] && c.leak_metric[DETECT_LEAK_THREADS] &&
                  c.leak_metric[DETECT_LEAK_HEAP]);
        cr_expect_eq(detect_config_set(&c, DETECTOR_LEAK, "metrics", "goroutines,fds", err, sizeof err), -EINVAL);
        cr_expect(strstr(err, "'fds'"), "%s", err);
        cr_expect_eq(detect_config_set(&c, DETECTOR_THROTTLING, "above", "1.5", err, sizeof err), -EINVAL);
        cr_expect(strstr(err, "above: '1.5'"), "%s", err);
        cr_expect_eq(detect_config_set(&c, DETECTOR_THROTTLING, "window", "20s", err, sizeof err), 0);
        cr_expect_eq(c.throttle_window, 20);
        cr_expect_eq(detect_config_set(&c, DETECTOR_THROTTLING, "window", "soon", err, sizeof err), -EINVAL);
        cr_expect_eq(detect_config_set(&c, DETECTOR_MEMORY, "for", "0", err, sizeof err), -EINVAL);
        cr_expect_eq(detect_config_set(&c, DETECTOR_MEMORY, "nope", "1", err, sizeof err), -ENOENT);
        cr_expect_eq(detect_config_set(&c, DETECTOR_OOM, "enabled", "false", err, sizeof err), 0);
        cr_expect(!c.enabled[DETECTOR_OOM]);
        cr_expect_eq(detect_config_set(&c, DETECTOR_PRESSURE, "above", "inf", err, sizeof err), -EINVAL);

        /* A threshold needs a metric and a bound. */
        cr_expect_eq(detect_config_add_threshold(&c), 0);
        cr_expect_eq(detect_config_check(&c, err, sizeof err), -EINVAL);
        cr_expect_eq(detect_config_set(&c, DETECTOR_THRESHOLD, "metric", "goroutine", err, sizeof err), -EINVAL);
        cr_expect_eq(detect_config_set(&c, DETECTOR_THRESHOLD, "metric", "goroutines", err, sizeof err), 0);
        cr_expect_eq(detect_config_check(&c, err, sizeof err), -EINVAL);
        cr_expect(strstr(err, "neither above nor below"), "%s", err);
        cr_expect_eq(detect_config_set(&c, DETECTOR_THRESHOLD, "above", "5000", err, sizeof err), 0);
        cr_expect_eq(detect_config_check(&c, err, sizeof err), 0);
        for (unsigned i = 1; i < DETECT_THRESHOLDS_MAX; i++)
                cr_expect_eq(detect_config_add_threshold(&c), 0);
        cr_expect_eq(detect_config_add_threshold(&c), -E2BIG);
}

Test(detect, threshold_for_n_samples_gaps_hold_the_count) {
        struct detect_config c;
        struct events e = { 0 };
        char err[160];
        double v[MON__COUNT];
        struct detect *d;

        detect_config_init(&c);
        cr_assert_eq(detect_config_add_threshold(&c), 0);
        cr_assert_eq(detect_config_set(&c, DETECTOR_THRESHOLD, "metric", "goroutines", err, sizeof err), 0);
        cr_assert_eq(detect_config_set(&c, DETECTOR_THRESHOLD, "above", "100", err, sizeof err), 0);
        cr_assert_eq(detect_config_set(&c, DETECTOR_THRESHOLD, "for", "3", err, sizeof err), 0);
        d = only(DETECTOR_THRESHOLD, &c);
        row_clear(v);
        v[MON_GOROUTINES] = 150;
        feed(d, 1, v, true, &e);
        feed(d, 2, v, false, &e);
        v[MON_GOROUTINES] = NAN;               /* a gap: neither holds nor breaks */
        feed(d, 3, v, false, &e);
        cr_expect_eq(e.fires, 0);
        v[MON_GOROUTINES] = 160;
        feed(d, 4, v, false, &e);
        cr_expect_eq(e.fires, 1);
        cr_expect_eq(e.last.value, 160);
        cr_expect_eq(e.last.threshold, 100);
        cr_expect_not_null(detect_slot(d, e.last.slot));
        feed(d, 5, v, false, &e);              /* still above: said once */
        cr_expect_eq(e.fires, 1);
        v[MON_GOROUTINES] = 50;
        feed(d, 6, v, false, &e);
        feed(d, 7, v, false, &e);
        cr_expect_eq(e.resolves, 0);
        feed(d, 8, v, false, &e);
        cr_expect_eq(e.resolves, 1);
        cr_expect_null(detect_slot(d, e.last.slot));
        detect_free(d);
}

Test(detect, threshold_on_a_counter_is_its_rate) {
        struct detect_config c;
        struct events e = { 0 };
        char err[160];
        double v[MON__COUNT];
        struct detect *d;

        detect_config_init(&c);
        cr_assert_eq(detect_config_add_threshold(&c), 0);
        cr_assert_eq(detect_config_set(&c, DETECTOR_THRESHOLD, "metric", "gc_pause_seconds", err, sizeof err), 0);
        cr_assert_eq(detect_config_set(&c, DETECTOR_THRESHOLD, "above", "0.1", err, sizeof err), 0);
        cr_assert_eq(detect_config_set(&c, DETECTOR_THRESHOLD, "for", "2", err, sizeof err), 0);
        d = only(DETECTOR_THRESHOLD, &c);
        row_clear(v);
        /* 5 s of pauses in 10 s per sample: 0.5 per second (a huge total
         * alone never fires). */
        for (int i = 0; i < 4; i++) {
                v[MON_GC_PAUSE_SECONDS] = 1000 + 5.0 * i;
                feed(d, 10.0 * i, v, i == 0, &e);
        }
        cr_expect_eq(e.fires, 1);
        cr_expect_float_eq(e.last.value, 0.5, 1e-9);
        detect_free(d);
}

Test(detect, threads_near_pids_max) {
        struct detect_config c;
        struct events e = { 0 };
        double v[MON__COUNT];
        struct detect *d;

        detect_config_init(&c);
        d = only(DETECTOR_THREADS, &c);
        row_clear(v);
        v[MON_PIDS_MAX] = 100;
        v[MON_THREADS] = 79;
        feed(d, 1, v, true, &e);
        cr_expect_eq(e.fires, 0);
        v[MON_THREADS] = 80;
        feed(d, 2, v, false, &e);
        cr_expect_eq(e.fires, 1);
        cr_expect_eq(e.last.limit, 100);
        cr_expect(strstr(e.last.summary, "pids.max"), "%s", e.last.summary);
        v[MON_THREADS] = 75;                   /* hysteresis: 0.9 x 80 = 72 */
        feed(d, 3, v, false, &e);
        cr_expect_eq(e.resolves, 0);
        v[MON_THREADS] = 70;
        feed(d, 4, v, false, &e);
        cr_expect_eq(e.resolves, 1);
        /* Go's own limit when pids.max is higher. */
        v[MON_PIDS_MAX] = NAN;
        v[MON_THREADS] = 8500;
        feed(d, 5, v, false, &e);
        cr_expect_eq(e.fires, 2);
        cr_expect_eq(e.last.limit, 10000);
        detect_free(d);
}

/* A 0.5-core quota, GOMAXPROCS 2: throttled in half the periods while
 * using all of the quota; the cause names GOMAXPROCS. */
Test(detect, throttling_names_gomaxprocs_above_the_quota) {
        struct detect_config c;
        struct events e = { 0 };
        struct detect_context ctx = { .quota_cores = 0.5, .gomaxprocs = 2, .gomemlimit_bytes = NAN, .host_cpus = 32,
                                      .go_minor = 19 };
        char err[160];
        double v[MON__COUNT];
        struct detect *d;

        detect_config_init(&c);
        cr_assert_eq(detect_config_set(&c, DETECTOR_THROTTLING, "window", "20s", err, sizeof err), 0);
        d = only(DETECTOR_THROTTLING, &c);
        detect_set_context(d, &ctx);
        row_clear(v);
        for (int i = 0; i <= 30; i++) {
                v[MON_CPU_PERIODS] = 10.0 * i;         /* 100 ms periods */
                v[MON_CPU_THROTTLED_PERIODS] = 5.0 * i;
                v[MON_CG_CPU_SECONDS] = 0.5 * i;       /* the whole quota */
                v[MON_SCHED_RUNQUEUE] = 3;
                feed(d, i, v, i == 0, &e);
                if (i < 15)
                        cr_expect_eq(e.fires, 0, "fired at %d, before most of a window", i);
        }
        cr_expect_eq(e.fires, 1);
        cr_expect_float_eq(e.last.value, 0.5, 1e-9);
        cr_expect(strstr(e.last.cause, "GOMAXPROCS=2 is above the CPU quota of 0.5 cores"), "%s", e.last.cause);
        cr_expect(strstr(e.last.cause, "run queue 3"), "%s", e.last.cause);
        /* The throttling stops: resolved once the window shows it. */
        for (int i = 31; i <= 60; i++) {
                v[MON_CPU_PERIODS] = 10.0 * i;
                v[MON_CPU_THROTTLED_PERIODS] = 150;
                v[MON_CG_CPU_SECONDS] = 15 + 0.2 * (i - 30);
                feed(d, i, v, false, &e);
        }
        cr_expect_eq(e.resolves, 1);
        detect_free(d);
}

/* Throttled but far from using the quota (a burst at each period's start
 * of a mostly idle service): not this detector's finding. */
Test(detect, throttling_quiet_when_the_quota_is_not_used) {
        struct detect_config c;
        struct events e = { 0 };
        struct detect_context ctx = { .quota_cores = 2, .gomaxprocs = NAN, .gomemlimit_bytes = NAN, .host_cpus = NAN };
        double v[MON__COUNT];
        struct detect *d;

        detect_config_init(&c);
        d = only(DETECTOR_THROTTLING, &c);
        detect_set_context(d, &ctx);
        row_clear(v);
        for (int i = 0; i <= 200; i++) {
                v[MON_CPU_PERIODS] = 10.0 * i;
                v[MON_CPU_THROTTLED_PERIODS] = 5.0 * i;
                v[MON_CG_CPU_SECONDS] = 0.3 * i;       /* 15% of 2 cores */
                feed(d, i, v, i == 0, &e);
        }
        cr_expect_eq(e.fires, 0);
        detect_free(d);
}

Test(detect, memory_near_the_limit) {
        struct detect_config c;
        struct events e = { 0 };
        double v[MON__COUNT];
        struct detect *d;

        detect_config_init(&c);
        d = only(DETECTOR_MEMORY, &c);
        row_clear(v);
        v[MON_MEM_LIMIT_BYTES] = 1000;
        v[MON_MEM_BYTES] = 950;
        for (int i = 0; i < 3; i++)
                feed(d, i, v, i == 0, &e);
        cr_expect_eq(e.fires, 1);
        cr_expect(strstr(e.last.summary, "95%"), "%s", e.last.summary);
        v[MON_MEM_BYTES] = 500;
        for (int i = 3; i < 6; i++)
                feed(d, i, v, false, &e);
        cr_expect_eq(e.resolves, 1);
        detect_free(d);
}

/* gctrace's fraction is cumulative: 5% for the first 100 s, then the GC
 * takes 60% while the heap sits at GOMEMLIMIT. */
Test(detect, gc_death_spiral_near_gomemlimit) {
        struct detect_config c;
        struct events e = { 0 };
        double v[MON__COUNT];
        struct detect *d;

        detect_config_init(&c);
        d = only(DETECTOR_GC, &c);
        row_clear(v);
        v[MON_RT_GOMEMLIMIT_BYTES] = 100e6;
        for (int i = 0; i <= 100; i += 5) {
                v[MON_GC_CPU_FRACTION] = 0.05;
                v[MON_GC_HEAP_LIVE_BYTES] = 40e6;
                feed(d, i, v, i == 0, &e);
        }
        cr_expect_eq(e.fires, 0);
        for (int i = 105; i <= 160; i += 5) {
                double gc_seconds = 0.05 * 100 + 0.6 * (i - 100);

                v[MON_GC_CPU_FRACTION] = gc_seconds / i;
                v[MON_GC_HEAP_LIVE_BYTES] = 97e6;
                feed(d, i, v, false, &e);
        }
        cr_expect_eq(e.fires, 1);
        cr_expect_float_eq(e.last.value, 0.6, 0.02);
        detect_free(d);
}

Test(detect, oom_kill_counted_across_a_restart_then_resolved) {
        struct detect_config c;
        struct events e = { 0 };
        char err[160];
        double v[MON__COUNT];
        struct detect *d;

        detect_config_init(&c);
        cr_assert_eq(detect_config_set(&c, DETECTOR_OOM, "window", "60s", err, sizeof err), 0);
        d = only(DETECTOR_OOM, &c);
        row_clear(v);
        v[MON_OOM_KILLS] = 2;                  /* earlier kills: history, not a finding */
        feed(d, 1, v, true, &e);
        cr_expect_eq(e.fires, 0);
        v[MON_OOM_KILLS] = 3;                  /* the first row after the restart it caused */
        feed(d, 10, v, true, &e);
        cr_expect_eq(e.fires, 1);
        cr_expect_eq(e.last.severity, DETECT_CRITICAL);
        detect_stopped(d, 11, on_event, &e);   /* stays across a stop */
        cr_expect_eq(e.resolves, 0);
        feed(d, 50, v, true, &e);
        cr_expect_eq(e.resolves, 0);
        feed(d, 71, v, false, &e);
        cr_expect_eq(e.resolves, 1);
        detect_free(d);
}

Test(detect, pressure_and_limit_change) {
        struct detect_config c;
        struct events e = { 0 };
        double v[MON__COUNT];
        struct detect *d;

        detect_config_init(&c);
        c.enabled[DETECTOR_LEAK] = false;
        for (int k = 0; k < DETECTOR__COUNT; k++)
                c.enabled[k] = k == DETECTOR_PRESSURE || k == DETECTOR_LIMIT_CHANGE;
        cr_assert_eq(detect_new(&c, &d), 0);
        row_clear(v);
        v[MON_PSI_MEMORY_SOME_AVG10] = 25;
        v[MON_MEM_LIMIT_BYTES] = 512e6;
        for (int i = 0; i < 3; i++)
                feed(d, i, v, i == 0, &e);
        cr_expect_eq(e.fires, 1);
        cr_expect_eq(e.last.detector, DETECTOR_PRESSURE);
        v[MON_MEM_LIMIT_BYTES] = 1024e6;       /* an in-place resize */
        feed(d, 3, v, false, &e);
        cr_expect_eq(e.fires, 2);
        cr_expect_eq(e.last.detector, DETECTOR_LIMIT_CHANGE);
        cr_expect(strstr(e.last.summary, "488.3 MiB to 976.6 MiB"), "%s", e.last.summary);
        feed(d, 4, v, true, &e);               /* the restart applied it */
        cr_expect_eq(e.resolves, 1);
        cr_expect_eq(e.last.detector, DETECTOR_LIMIT_CHANGE);
        detect_free(d);
}

/* Through the engine: a goroutine leak fires in time with its rate, and
 * resolves when the service stops; a later leak is a new finding. */
Test(detect, leak_through_the_engine) {
        struct detect_config c;
        struct events e = { 0 };
        double v[MON__COUNT];
        struct detect *d;
        int t;

        detect_config_init(&c);
        d = only(DETECTOR_LEAK, &c);
        row_clear(v);
        for (t = 0; t < 1800 && e.fires == 0; t += 5) {
                v[MON_GOROUTINES] = 100 + (t > 600 ? (t - 600) * 0.5 : 0) + (t % 3);
                v[MON_THREADS] = 8;
                v[MON_RSS_BYTES] = 30e6;
                feed(d, t, v, t == 0, &e);
        }
        cr_assert_eq(e.fires, 1);
        cr_expect_str_eq(e.last.metric_name, "goroutines");
        /* G = max(50, 20% of ~100) = 50; at 0.5/s the deadline is
         * max(300 s, 2G/R = 200 s) after the start at 600 s. */
        cr_expect_leq(e.last.at, 600 + 300, "fired at %g", e.last.at);
        cr_expect_gt(e.last.rate_per_hour, 1000);
        cr_expect_lt(e.last.rate_per_hour, 3000);
        detect_stopped(d, t, on_event, &e);
        cr_expect_eq(e.resolves, 1);
        detect_free(d);
}

Test(detect, gaps_alone_fire_nothing) {
        struct detect_config c;
        struct events e = { 0 };
        double v[MON__COUNT];
        struct detect *d;

        detect_config_init(&c);
        cr_assert_eq(detect_new(&c, &d), 0);
        row_clear(v);
        for (int t = 0; t < 20000; t += 5)
                feed(d, t, v, t == 0, &e);
        cr_expect_eq(e.fires + e.resolves, 0);
        detect_free(d);
}

/* The watchdog is not fed by samples: the supervisor reports a missed
 * ping; it fires once per process, resolves at the stop, and is off with
 * detect.watchdog: false. */
Test(detect, watchdog_missed_once_per_process) {
        struct detect_config c;
        struct events e = { 0 };
        double v[MON__COUNT];
        struct detect *d;

        detect_config_init(&c);
        cr_expect(c.enabled[DETECTOR_WATCHDOG], "on by default (it needs `watchdog:` to ever fire)");
        d = only(DETECTOR_WATCHDOG, &c);
        row_clear(v);
        feed(d, 1, v, true, &e);
        detect_watchdog_missed(d, 31, 30, on_event, &e);
        detect_watchdog_missed(d, 32, 30, on_event, &e);
        cr_expect_eq(e.fires, 1);
        cr_expect_eq(e.last.detector, DETECTOR_WATCHDOG);
        cr_expect_eq(e.last.severity, DETECT_CRITICAL);
        cr_expect_eq(e.last.since, 1);
        cr_expect_eq(e.last.threshold, 30);
        cr_expect(strstr(e.last.summary, "no WATCHDOG=1") && strstr(e.last.summary, "30s"), "%s", e.last.summary);
        cr_expect_not_null(detect_slot(d, e.last.slot));
        detect_stopped(d, 33, on_event, &e);
        cr_expect_eq(e.resolves, 1);
        detect_watchdog_missed(d, 70, 30, on_event, &e);
        cr_expect_eq(e.fires, 2, "a new process, a new finding");
        detect_free(d);

        e = (struct events){ 0 };
        detect_config_init(&c);
        c.enabled[DETECTOR_WATCHDOG] = false;
        cr_assert_eq(detect_new(&c, &d), 0);
        detect_watchdog_missed(d, 31, 30, on_event, &e);
        cr_expect_eq(e.fires, 0, "detect.watchdog: false");
        detect_free(d);
}

/* The CPU quota changing under a running service: a limit_change finding
 * of its own (metric cpu_quota_cores), resolved by the restart; none when
 * a Go >= 1.25 runtime sizes GOMAXPROCS itself (gorral left it unset); a
 * quota appearing where there was none counts ("none" to 2 cores). */
Test(detect, limit_change_cpu_quota) {
        struct detect_config c;
        struct events e = { 0 };
        double v[MON__COUNT];
        struct detect *d;

        detect_config_init(&c);
        d = only(DETECTOR_LIMIT_CHANGE, &c);
        row_clear(v);
        v[MON_CPU_PERIODS] = 0;
        v[MON_CPU_QUOTA_CORES] = 1;
        detect_set_context(d, &(struct detect_context){ .gomaxprocs = 1, .gomemlimit_bytes = NAN, .go_minor = 19 });
        feed(d, 0, v, true, &e);
        feed(d, 1, v, false, &e);
        cr_expect_eq(e.fires, 0);
        v[MON_CPU_QUOTA_CORES] = 3;
        feed(d, 2, v, false, &e);
        cr_assert_eq(e.fires, 1);
        cr_expect_eq(e.last.detector, DETECTOR_LIMIT_CHANGE);
        cr_expect_str_eq(e.last.metric_name, "cpu_quota_cores");
        cr_expect(strstr(e.last.summary, "from 1 core to 3 cores"), "%s", e.last.summary);
        cr_expect_eq(e.last.value, 3);
        cr_expect_eq(e.last.threshold, 1);
        feed(d, 3, v, false, &e);
        cr_expect_eq(e.fires, 1, "once");
        feed(d, 4, v, true, &e);
        cr_expect_eq(e.resolves, 1, "the restart applied it");

        /* No quota at the start, one later. */
        v[MON_CPU_QUOTA_CORES] = NAN;
        feed(d, 10, v, true, &e);
        v[MON_CPU_QUOTA_CORES] = 2;
        feed(d, 11, v, false, &e);
        cr_expect_eq(e.fires, 2);
        cr_expect(strstr(e.last.summary, "from none to 2 cores"), "%s", e.last.summary);
        detect_free(d);

        /* Go 1.26 with GOMAXPROCS left to its runtime: it follows alone. */
        e = (struct events){ 0 };
        d = only(DETECTOR_LIMIT_CHANGE, &c);
        detect_set_context(d, &(struct detect_context){ .gomaxprocs = NAN, .gomemlimit_bytes = NAN, .go_minor = 26 });
        v[MON_CPU_QUOTA_CORES] = 1;
        feed(d, 0, v, true, &e);
        v[MON_CPU_QUOTA_CORES] = 3;
        feed(d, 1, v, false, &e);
        cr_expect_eq(e.fires, 0);
        detect_free(d);
}
