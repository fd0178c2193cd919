/* CPU cost of the detectors per sample, as a running gorral feeds them: one
 * struct detect with every detector on (leak on goroutines, threads, RSS and
 * heap; two thresholds), fed rows that carry every column a watched Go
 * service's row has, with noise, bursts and a slow leak so that every code
 * path runs (the leak's bucket closes, the throttling window, the shares).
 *
 *   detect_cost [-n SAMPLES] [-i INTERVAL_S]
 *
 * Prints "detectors SAMPLES ns_per_sample bytes_per_service". Times with
 * CLOCK_PROCESS_CPUTIME_ID; nothing is asserted. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gorral/detect.h"
#include "gorral/monitor.h"

static unsigned fires;

static void on_event(void *userdata, const struct detect_finding *f) {
        (void)userdata;
        fires += f->active;
}

static double cpu_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
        long n = 1000000;
        double interval = 1, v[MON__COUNT], t0, t1;
        struct detect_config c;
        struct detect_context ctx = { .quota_cores = 2, .gomaxprocs = 2, .gomemlimit_bytes = 900e6, .host_cpus = 2,
                                      .go_minor = 19 };
        struct detect *d;
        char err[160];
        int o;
        unsigned seed = 1;

        while ((o = getopt(argc, argv, "n:i:")) >= 0)
                switch (o) {
                case 'n': n = atol(optarg); break;
                case 'i': interval = atof(optarg); break;
                default: fprintf(stderr, "usage: detect_cost [-n SAMPLES] [-i INTERVAL_S]\n"); return 2;
                }
        detect_config_init(&c);
        c.enabled[DETECTOR_THRESHOLD] = true;
        (void)detect_config_set(&c, DETECTOR_LEAK, "metrics", "goroutines,threads,rss_bytes,heap_bytes", err, sizeof err);
        (void)detect_config_add_threshold(&c);
        (void)detect_config_set(&c, DETECTOR_THRESHOLD, "metric", "goroutines", err, sizeof err);
        (void)detect_config_set(&c, DETECTOR_THRESHOLD, "above", "100000", err, sizeof err);
        (void)detect_config_add_threshold(&c);
        (void)detect_config_set(&c, DETECTOR_THRESHOLD, "metric", "gc_pause_seconds", err, sizeof err);
        (void)detect_config_set(&c, DETECTOR_THRESHOLD, "above", "0.5", err, sizeof err);
        if (detect_new(&c, &d) < 0)
                return 1;
        detect_set_context(d, &ctx);
        for (int k = 0; k < MON__COUNT; k++)
                v[k] = 0;
        t0 = cpu_ns();
        for (long i = 0; i < n; i++) {
                double t = (double)i * interval, r = (double)(rand_r(&seed) % 1000) / 1000;
                struct detect_sample s = { .t = t, .reset = i == 0, .v = v };

                v[MON_GOROUTINES] = 200 + 150 * r + t / 3600 * 5;
                v[MON_THREADS] = 12 + (r > 0.9);
                v[MON_RSS_BYTES] = 80e6 + 5e6 * r;
                v[MON_HEAP_INUSE_BYTES] = 40e6 + 10e6 * r;
                v[MON_MEM_BYTES] = 120e6 + 5e6 * r;
                v[MON_MEM_LIMIT_BYTES] = 1e9;
                v[MON_PIDS_MAX] = 4096;
                v[MON_CPU_PERIODS] = t * 10;
                v[MON_CPU_THROTTLED_PERIODS] = t * 0.1;
                v[MON_CG_CPU_SECONDS] = t * 0.3;
                v[MON_GC_CPU_FRACTION] = 0.02;
                v[MON_GC_HEAP_LIVE_BYTES] = 30e6;
                v[MON_GC_PAUSE_SECONDS] = t * 1e-4;
                v[MON_OOM_KILLS] = 0;
                v[MON_PSI_MEMORY_SOME_AVG10] = r;
                detect_feed(d, &s, on_event, NULL);
        }
        t1 = cpu_ns();
        printf("detectors %ld %.1f %zu fires=%u\n", n, (t1 - t0) / (double)n, sizeof(struct detect_config), fires);
        detect_free(d);
        return 0;
}
