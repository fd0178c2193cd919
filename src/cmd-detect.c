/* cmd-detect.c: `gorral detect --replay FILE`: a detector over a recorded
 * series, in the series' own time: the same code, option names and
 * defaults as a service's detect: section. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/commands.h"
#include "gorral/csvseries.h"
#include "gorral/detect.h"
#include "gorral/exitcodes.h"
#include "gorral/json.h"
#include "gorral/monitor.h"
#include "gorral/util.h"

#define REPLAY_MAX_BYTES ((size_t)512 << 20)

static void usage(FILE *f) {
        fputs("Usage: gorral detect --replay FILE [--detector NAME] [--metric METRIC] [--OPTION VALUE...] [--json]\n"
              "\n"
              "Run a detector over a recorded series and print what it finds, in the series'\n"
              "own time. FILE (- for stdin) holds SECONDS,VALUE lines: seconds from the start,\n"
              "increasing; a missing sample is an absent line; a first line that is not\n"
              "numeric is a header.\n"
              "\n"
              "  --detector NAME   leak (default), threshold or threads\n"
              "  --metric METRIC   what the series is: goroutines (default), threads,\n"
              "                    rss_bytes, heap_bytes, or any `gorral status --json` sample\n"
              "                    key for threshold\n"
              "  --OPTION VALUE    the detector's options, named as in the config file's\n"
              "                    detect: section (--min-goroutines 50, --above 5000, --for 10)\n"
              "  --json            one JSON object per event\n"
              "  -h, --help        this text\n"
              "  -V, --version     gorral's version\n"
              "\n"
              "Prints event=fire detector=... at=SECONDS ... and event=resolve ...; exit 0\n"
              "whether or not anything fired, 2 for a usage or input error.\n",
              f);
}

struct replay {
        struct detect *det;
        int column;
        double v[MON__COUNT];
        bool json;
        unsigned events;
};

static void print_num(const char *key, double v) {
        if (!isnan(v))
                printf(" %s=%.10g", key, v);
}

static void on_event(void *userdata, const struct detect_finding *f) {
        struct replay *r = userdata;

        r->events++;
        if (r->json) {
                struct json_writer w;
                _cleanup_free_ char *out = NULL;
                size_t len = 0;

                json_writer_init(&w, 16384);
                json_begin_object(&w);
                json_member_string(&w, "event", f->active ? "fire" : "resolve");
                json_member_string(&w, "detector", detector_name(f->detector));
                json_key(&w, "at");
                json_real(&w, f->at);
                json_key(&w, "since");
                json_real(&w, f->since);
                json_member_string(&w, "metric", f->metric_name);
                json_member_string(&w, "severity", detect_severity_name(f->severity));
                json_key(&w, "value");
                json_real(&w, f->value);
                json_key(&w, "threshold");
                json_real(&w, f->threshold);
                json_key(&w, "rate_per_hour");
                json_real(&w, f->rate_per_hour);
                json_key(&w, "growth");
                json_real(&w, f->growth);
                json_key(&w, "baseline");
                json_real(&w, f->baseline);
                json_member_string(&w, "summary", f->summary);
                json_end_object(&w);
                if (json_writer_steal(&w, &out, &len) == 0)
                        printf("%s\n", out);
                json_writer_done(&w);
                return;
        }
        printf("event=%s detector=%s", f->active ? "fire" : "resolve", detector_name(f->detector));
        print_num("at", f->at);
        if (f->metric_name)
                printf(" metric=%s", f->metric_name);
        print_num("since", f->since);
        print_num("value", f->value);
        print_num("threshold", f->threshold);
        print_num("rate_per_hour", f->rate_per_hour);
        print_num("growth", f->growth);
        print_num("baseline", f->baseline);
        printf(" summary=\"%s\"\n", f->summary);
}

static int on_sample(void *ctx, double t, double v) {
        struct replay *r = ctx;
        struct detect_sample s = { .t = t, .v = r->v };

        r->v[r->column] = v;
        detect_feed(r->det, &s, on_event, r);
        return 0;
}

/* "--min-goroutines" -> "min_goroutines". */
static void option_key(const char *arg, char *buf, size_t n) {
        snprintf(buf, n, "%s", arg + 2);
        for (char *p = buf; *p; p++)
                if (*p == '-')
                        *p = '_';
}

int cmd_detect(int argc, char **argv) {
        const char *file = NULL, *detector = "leak", *metric = "goroutines";
        struct detect_config c;
        struct replay r = { .column = -1 };
        _cleanup_free_ char *buf = NULL;
        struct csvseries_error pe = { 0 };
        char err[192];
        size_t len = 0;
        int d, n;

        /* First the command's own options: the detector decides what the
         * others mean. */
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
                        usage(stdout);
                        return 0;
                }
                if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
                        printf("gorral %s\n", GORRAL_VERSION);
                        return 0;
                }
                if (!strcmp(a, "--json")) {
                        r.json = true;
                        continue;
                }
                if (strncmp(a, "--", 2) || !a[2]) {
                        fprintf(stderr, "gorral detect: unexpected argument '%s'\n", a);
                        usage(stderr);
                        return GR_EXIT_USAGE;
                }
                if (strchr(a, '=') == NULL && i + 1 >= argc) {
                        fprintf(stderr, "gorral detect: %s needs a value\n", a);
                        return GR_EXIT_USAGE;
                }
                if (!strchr(a, '='))
                        i++;
                if (!strcmp(a, "--replay"))
                        file = argv[i];
                else if (!strcmp(a, "--detector"))
                        detector = argv[i];
                else if (!strcmp(a, "--metric"))
                        metric = argv[i];
        }
        if (!file) {
                fprintf(stderr, "gorral detect: --replay FILE is required\n");
                usage(stderr);
                return GR_EXIT_USAGE;
        }
        d = detector_from_name(detector);
        if (d != DETECTOR_LEAK && d != DETECTOR_THRESHOLD && d != DETECTOR_THREADS) {
                fprintf(stderr, "gorral detect: --detector '%s': replay runs leak, threshold or threads (the others "
                        "read several series at once)\n", detector);
                return GR_EXIT_USAGE;
        }
        detect_config_init(&c);
        for (int k = 0; k < DETECTOR__COUNT; k++)
                c.enabled[k] = k == d;
        if (d == DETECTOR_LEAK) {
                int m = -1;

                for (int k = 0; k < DETECT_LEAK__COUNT; k++)
                        if (!strcmp(metric, detect_leak_metric_name((enum detect_leak_metric)k)))
                                m = k;
                if (m < 0) {
                        fprintf(stderr, "gorral detect: --metric '%s': the leak detector follows goroutines, threads, "
                                "rss_bytes or heap_bytes\n", metric);
                        return GR_EXIT_USAGE;
                }
                (void)detect_config_set(&c, DETECTOR_LEAK, "metrics", metric, err, sizeof err);
                r.column = detect_leak_metric_column((enum detect_leak_metric)m);
        } else if (d == DETECTOR_THREADS) {
                r.column = MON_THREADS;
        } else {
                r.column = mon_metric_from_name(metric);
                if (r.column < 0) {
                        fprintf(stderr, "gorral detect: --metric '%s' is not a sample of `gorral status --json`\n",
                                metric);
                        return GR_EXIT_USAGE;
                }
                (void)detect_config_add_threshold(&c);
                (void)detect_config_set(&c, DETECTOR_THRESHOLD, "metric", metric, err, sizeof err);
        }
        /* Then the detector's options. */
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *eq = strchr(a, '='), *value;
                char key[64];
                int e;

                if (!strcmp(a, "--json"))
                        continue;
                value = eq ? eq + 1 : argv[++i];
                if (!strcmp(a, "--replay") || !strcmp(a, "--detector") || !strcmp(a, "--metric") ||
                    !strncmp(a, "--replay=", 9) || !strncmp(a, "--detector=", 11) || !strncmp(a, "--metric=", 9))
                        continue;
                option_key(a, key, sizeof key);
                if (eq && (size_t)(eq - a - 2) < sizeof key)
                        key[eq - a - 2] = '\0';
                e = detect_config_set(&c, (enum detector)d, key, value, err, sizeof err);
                if (e == -ENOENT) {
                        const char *const *keys = detect_option_keys((enum detector)d);

                        fprintf(stderr, "gorral detect: %s is not an option of the %s detector (it has:", a, detector);
                        for (; *keys; keys++)
                                fprintf(stderr, " --%s", *keys);
                        fprintf(stderr, ")\n");
                        return GR_EXIT_USAGE;
                }
                if (e < 0) {
                        fprintf(stderr, "gorral detect: %s\n", err);
                        return GR_EXIT_USAGE;
                }
        }
        if (detect_config_check(&c, err, sizeof err) < 0) {
                fprintf(stderr, "gorral detect: %s\n", err);
                return GR_EXIT_USAGE;
        }
        if (detect_new(&c, &r.det) < 0) {
                fprintf(stderr, "gorral detect: out of memory\n");
                return GR_EXIT_SYSTEM;
        }
        for (int k = 0; k < MON__COUNT; k++)
                r.v[k] = NAN;
        n = read_file(strcmp(file, "-") == 0 ? "/dev/stdin" : file, REPLAY_MAX_BYTES, &buf, &len);
        if (n < 0) {
                fprintf(stderr, "gorral detect: %s: %s\n", file, strerror(-n));
                detect_free(r.det);
                return GR_EXIT_USAGE;
        }
        n = csvseries_parse(buf, len, CSVSERIES_MAX_SAMPLES, on_sample, &r, &pe);
        fflush(stdout);
        detect_free(r.det);
        if (n < 0) {
                if (pe.line)
                        fprintf(stderr, "gorral detect: %s:%zu: %s\n", file, pe.line, pe.what);
                else
                        fprintf(stderr, "gorral detect: %s: %s\n", file, pe.what[0] ? pe.what : strerror(-n));
                return GR_EXIT_USAGE;
        }
        return 0;
}
