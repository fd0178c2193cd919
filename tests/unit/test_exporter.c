/* Unit tests for src/exporter.c: every family has HELP and TYPE, a value
 * gorral does not have is absent (never 0), label values are escaped, the
 * runtime's own GOMAXPROCS wins over what gorral set, the histogram is
 * cumulative. promtool checks the real output in test_watch.sh. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/detect.h"
#include "gorral/exporter.h"
#include "gorral/monitor.h"

static char *format(const struct exporter_service *v, size_t n, const struct mon_stats *st) {
        struct exporter_self self = { .version = "9.9.9", .orphans_reaped = 7, .stats = st };
        char *b = NULL;
        size_t len = 0;

        cr_assert_eq(exporter_format(v, n, &self, &b, &len), 0);
        cr_assert_eq(strlen(b), len);
        cr_assert(len > 0 && b[len - 1] == '\n', "the body ends in a newline");
        return b;
}

static bool has_line(const char *body, const char *line) {
        size_t n = strlen(line);

        for (const char *p = body; (p = strstr(p, line)); p++)
                if ((p == body || p[-1] == '\n') && p[n] == '\n')
                        return true;
        return false;
}

Test(exporter, lifecycle_only) {
        struct exporter_service v[] = {
                { .name = "api", .up = true, .restarts = 3, .has_gomaxprocs = true, .gomaxprocs = 2 },
                { .name = "job", .up = false, .has_exit = true, .last_exit = 143 },
        };
        char *b = format(v, 2, NULL);

        cr_assert(has_line(b, "# TYPE gorral_service_up gauge"));
        cr_assert(has_line(b, "gorral_service_up{service=\"api\"} 1"));
        cr_assert(has_line(b, "gorral_service_up{service=\"job\"} 0"));
        cr_assert(has_line(b, "gorral_service_restarts_total{service=\"api\"} 3"));
        cr_assert(has_line(b, "gorral_service_last_exit_code{service=\"job\"} 143"));
        cr_assert_null(strstr(b, "gorral_service_last_exit_code{service=\"api\"}"), "api never exited: absent");
        cr_assert(has_line(b, "gorral_service_gomaxprocs{service=\"api\"} 2"));
        cr_assert_null(strstr(b, "gorral_service_threads"), "no sample: no family at all");
        cr_assert_null(strstr(b, "gorral_service_scrape_errors_total"), "nothing watched");
        cr_assert(has_line(b, "gorral_build_info{version=\"9.9.9\"} 1"));
        cr_assert(has_line(b, "gorral_orphans_reaped_total 7"));
        cr_assert_null(strstr(b, "gorral_samples_total"), "no samples taken");
        free(b);
}

Test(exporter, samples_gaps_and_escapes) {
        double s[MON__COUNT];
        uint64_t errs[MON_ERR__COUNT] = { [MON_ERR_TIMEOUT] = 4 };
        struct mon_stats st = { .samples = 10, .duration_count = 3, .duration_sum = 0.00006 };
        char *b;

        st.duration_buckets[1] = 2; /* <= 25us */
        st.duration_buckets[3] = 1; /* <= 100us */
        for (int k = 0; k < MON__COUNT; k++)
                s[k] = NAN;
        s[MON_THREADS] = 12;
        s[MON_GOROUTINES] = 0;                     /* a real zero is written */
        s[MON_SCHED_GOMAXPROCS] = 4;
        s[MON_CPU_THROTTLED_SECONDS] = 1.25;
        s[MON_PSI_IO_FULL_SECONDS] = 0.5;
        {
                struct exporter_service v[] = {
                        { .name = "we\"ird\\na\nme", .up = true, .has_gomaxprocs = true, .gomaxprocs = 2,
                          .go_version = "go1.19.8", .module = "example.com/x", .sample = s, .scrape_errors = errs },
                };

                b = format(v, 1, &st);
        }
        cr_assert(has_line(b, "gorral_service_threads{service=\"we\\\"ird\\\\na\\nme\"} 12"), "%s", b);
        cr_assert(has_line(b, "gorral_service_goroutines{service=\"we\\\"ird\\\\na\\nme\"} 0"));
        cr_assert(has_line(b, "gorral_service_gomaxprocs{service=\"we\\\"ird\\\\na\\nme\"} 4"),
                  "the runtime's schedtrace wins over what gorral set");
        cr_assert(has_line(b, "gorral_service_cpu_throttled_seconds_total{service=\"we\\\"ird\\\\na\\nme\"} 1.25"));
        cr_assert(has_line(b, "gorral_service_pressure_seconds_total{service=\"we\\\"ird\\\\na\\nme\",resource=\"io\","
                              "kind=\"full\"} 0.5"));
        cr_assert_null(strstr(b, "resource=\"cpu\""), "gaps are absent");
        cr_assert_null(strstr(b, "gorral_service_memory_bytes"), "gap: no family");
        cr_assert(has_line(b, "gorral_service_scrape_errors_total{service=\"we\\\"ird\\\\na\\nme\",reason=\"timeout\"} 4"));
        cr_assert(has_line(b, "gorral_service_scrape_errors_total{service=\"we\\\"ird\\\\na\\nme\",reason=\"connect\"} 0"));
        cr_assert(has_line(b, "gorral_service_info{service=\"we\\\"ird\\\\na\\nme\",go_version=\"go1.19.8\","
                              "module=\"example.com/x\"} 1"));
        cr_assert(has_line(b, "# TYPE gorral_sample_duration_seconds histogram"));
        cr_assert(has_line(b, "gorral_sample_duration_seconds_bucket{le=\"1e-05\"} 0"));
        cr_assert(has_line(b, "gorral_sample_duration_seconds_bucket{le=\"2.5e-05\"} 2"));
        cr_assert(has_line(b, "gorral_sample_duration_seconds_bucket{le=\"0.0001\"} 3"), "cumulative");
        cr_assert(has_line(b, "gorral_sample_duration_seconds_bucket{le=\"+Inf\"} 3"));
        cr_assert(has_line(b, "gorral_sample_duration_seconds_count 3"));
        cr_assert(has_line(b, "gorral_samples_total 10"));
        /* Every family written has HELP then TYPE before its samples. */
        for (const char *p = b; *p;) {
                const char *e = strchr(p, '\n');

                if (strncmp(p, "# ", 2) != 0) {
                        char name[128];
                        size_t k = strcspn(p, "{ ");
                        char *type;

                        cr_assert_lt(k, sizeof name);
                        memcpy(name, p, k);
                        name[k] = 0;
                        if (strstr(name, "_bucket") || strstr(name, "_sum") || strstr(name, "_count"))
                                *strrchr(name, '_') = 0;
                        cr_assert(asprintf(&type, "# TYPE %s ", name) > 0);
                        cr_assert_not_null(strstr(b, type), "no TYPE for %s", name);
                        free(type);
                }
                p = e + 1;
        }
        free(b);
}

Test(exporter, findings_and_alert_destinations) {
        unsigned active[DETECTOR__COUNT] = { [DETECTOR_LEAK] = 2, [DETECTOR_THROTTLING] = 1 };
        uint64_t total[DETECTOR__COUNT] = { [DETECTOR_LEAK] = 5, [DETECTOR_THROTTLING] = 1 };
        struct exporter_service v[] = {
                { .name = "api", .up = true, .findings_active = active, .findings_total = total,
                  .finding_restarts = 4 },
                { .name = "job", .up = true },
        };
        struct exporter_sink sinks[] = { { .name = "am", .kind = "alertmanager", .delivered = 9, .failed = 2 } };
        struct exporter_self self = { .version = "9", .sinks = sinks, .n_sinks = 1 };
        char *b = NULL;
        size_t len = 0;

        cr_assert_eq(exporter_format(v, 2, &self, &b, &len), 0);
        cr_expect(has_line(b, "# TYPE gorral_finding_active gauge"));
        cr_expect(has_line(b, "gorral_finding_active{service=\"api\",detector=\"leak\"} 2"));
        cr_expect(has_line(b, "gorral_finding_active{service=\"api\",detector=\"oom\"} 0"));
        cr_expect(has_line(b, "# TYPE gorral_findings_total counter"));
        cr_expect(has_line(b, "gorral_findings_total{service=\"api\",detector=\"throttling\"} 1"));
        cr_expect(has_line(b, "gorral_finding_restarts_total{service=\"api\"} 4"));
        cr_expect_null(strstr(b, "service=\"job\",detector="), "job has no detectors: absent, not 0");
        cr_expect(has_line(b, "gorral_alert_deliveries_total{sink=\"am\",kind=\"alertmanager\",result=\"ok\"} 9"));
        cr_expect(has_line(b, "gorral_alert_deliveries_total{sink=\"am\",kind=\"alertmanager\",result=\"failed\"} 2"));
        free(b);
}
