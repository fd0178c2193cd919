/* Unit tests for src/promtext.c: both formats on the real captures of
 * tests/fixtures/samples (Go 1.19 with client_golang 1.14, Go 1.26 with
 * client_golang 1.25), the Go metrics extracted from them, and every
 * error path on hand-made bodies. Every body is handed over in a malloc'd
 * buffer of exactly its length, without a NUL, so that the ASan build
 * catches a read past the end. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/promtext.h"
#include "gorral/util.h"

#define T PROMTEXT_TEXT
#define OM PROMTEXT_OPENMETRICS

static char *exact_copy(const char *s, size_t n) {
        char *b = malloc(n ? n : 1);

        cr_assert(b);
        memcpy(b, s, n);
        return b;
}

static char *load(const char *name, size_t *ret_n) {
        char path[512], *b = NULL, *c;
        size_t n = 0;
        int r;

        snprintf(path, sizeof path, "%s/%s", SAMPLES, name);
        r = read_file(path, GR_READ_MAX, &b, &n);
        cr_assert_eq(r, 0, "read %s: %d", path, r);
        c = exact_copy(b, n);
        free(b);
        *ret_n = n;
        return c;
}

/* Samples collected for inspection (strings copied out). */
struct got {
        size_t n;
        struct {
                char name[128], family[128], labels[512];
                enum promtext_type type;
                double value;
                bool has_ts;
                int64_t ts;
                unsigned line;
        } s[64];
        int stop_at; /* return 7 from this sample on (1-based), 0: never */
};

static int collect(const struct promtext_sample *s, void *userdata) {
        struct got *g = userdata;

        if (g->n < ELEMENTSOF(g->s)) {
                typeof(g->s[0]) *o = &g->s[g->n];
                size_t off = 0;

                snprintf(o->name, sizeof o->name, "%.*s", (int)s->name_len, s->name);
                snprintf(o->family, sizeof o->family, "%.*s", (int)s->family_len, s->family);
                for (size_t i = 0; i < s->n_labels; i++)
                        off += (size_t)snprintf(o->labels + off, sizeof o->labels - off, "%s%.*s=%.*s", i ? "," : "",
                                                (int)s->labels[i].name_len, s->labels[i].name,
                                                (int)s->labels[i].value_len, s->labels[i].value);
                o->type = s->type;
                o->value = s->value;
                o->has_ts = s->has_timestamp;
                o->ts = s->timestamp_ms;
                o->line = s->line;
        }
        g->n++;
        if (g->stop_at && (int)g->n >= g->stop_at)
                return 7;
        return 0;
}

static void parse_ok(const char *body, enum promtext_format fmt, struct got *g) {
        struct promtext_error e = { 0 };
        size_t n = strlen(body);
        char *b = exact_copy(body, n);
        int r;

        memset(g, 0, sizeof *g);
        r = promtext_parse(b, n, fmt, collect, g, &e);
        cr_assert_eq(r, 0, "fmt %d: r=%d at %u:%u: %s\n%s", fmt, r, e.line, e.column, e.message, body);
        free(b);
}

/* The error an input gives: line, column and a part of the message. */
static void parse_bad_n(const char *body, size_t n, enum promtext_format fmt, unsigned line, unsigned col,
                        const char *msg) {
        struct promtext_error e = { 0 };
        struct got g = { 0 };
        char *b = exact_copy(body, n);
        int r = promtext_parse(b, n, fmt, collect, &g, &e);

        cr_expect_eq(r, -EBADMSG, "fmt %d '%s': r=%d", fmt, body, r);
        cr_expect_eq(e.line, line, "fmt %d '%s': line %u want %u (%s)", fmt, body, e.line, line, e.message);
        cr_expect_eq(e.column, col, "fmt %d '%s': column %u want %u (%s)", fmt, body, e.column, col, e.message);
        cr_expect(strstr(e.message, msg), "fmt %d '%s': message '%s' lacks '%s'", fmt, body, e.message, msg);
        free(b);
}

static void parse_bad(const char *body, enum promtext_format fmt, unsigned line, unsigned col, const char *msg) {
        parse_bad_n(body, strlen(body), fmt, line, col, msg);
}

/* ---- the captures ------------------------------------------------------ */

struct capture {
        const char *file;
        enum promtext_format fmt;
        size_t samples;
        const char *go_version;
};

static const struct capture captures[] = {
        { "metrics-high-plain.txt", T, 44, "go1.19.8" },
        { "metrics-low-plain.txt", T, 44, "go1.19.8" },
        { "metrics-om-high-plain.txt", T, 44, "go1.19.8" },
        { "metrics-om-low-plain.txt", T, 44, "go1.19.8" },
        /* Asked for OpenMetrics, served text: client_golang without
         * EnableOpenMetrics ignores the Accept header. */
        { "metrics-high-openmetrics-accept.txt", T, 44, "go1.19.8" },
        { "metrics-low-openmetrics-accept.txt", T, 44, "go1.19.8" },
        { "metrics-om-high-openmetrics.txt", OM, 44, "go1.19.8" },
        { "metrics-om-low-openmetrics.txt", OM, 44, "go1.19.8" },
        { "metrics-om-high-openmetrics-gzip.txt", OM, 44, "go1.19.8" },
        { "metrics-om-low-openmetrics-gzip.txt", OM, 44, "go1.19.8" },
        { "metrics-go119-runtime-plain.txt", T, 58, "go1.19.8" },
        { "metrics-go126-plain.txt", T, 48, "go1.26.8" },
        { "metrics-go126-openmetrics.txt", OM, 48, "go1.26.8" },
        { "metrics-go126-runtime-plain.txt", T, 105, "go1.26.8" },
        { "metrics-go126-runtime-openmetrics.txt", OM, 105, "go1.26.8" },
};

static int count(const struct promtext_sample *s, void *userdata) {
        (void)s;
        (*(size_t *)userdata)++;
        return 0;
}

/* The value of the line "NAME VALUE" in body, found without the parser
 * (every metric of the table is unlabelled in the captures). */
static bool scan_value(const char *body, size_t n, const char *name, double *ret) {
        size_t l = strlen(name);

        for (const char *s = body; s < body + n;) {
                const char *nl = memchr(s, '\n', (size_t)(body + n - s));
                size_t len = nl ? (size_t)(nl - s) : (size_t)(body + n - s);

                if (len > l + 1 && memcmp(s, name, l) == 0 && s[l] == ' ') {
                        char tmp[64];

                        snprintf(tmp, sizeof tmp, "%.*s", (int)(len - l - 1), s + l + 1);
                        *ret = strtod(tmp, NULL);
                        return true;
                }
                s = nl ? nl + 1 : body + n;
        }
        return false;
}

Test(promtext, captures_parse_and_agree_with_a_plain_scan) {
        for (size_t i = 0; i < ELEMENTSOF(captures); i++) {
                const struct capture *c = &captures[i];
                struct promtext_error e = { 0 };
                struct go_metrics m;
                size_t n, got = 0;
                char *b = load(c->file, &n);
                int r = promtext_parse(b, n, c->fmt, count, &got, &e);

                cr_assert_eq(r, 0, "%s: %d at %u:%u %s", c->file, r, e.line, e.column, e.message);
                cr_expect_eq(got, c->samples, "%s: %zu samples, want %zu", c->file, got, c->samples);
                cr_assert_eq(promtext_go_extract(b, n, c->fmt, &m, &e), 0, "%s", c->file);
                cr_expect(m.present & GO_METRICS_HAS_VERSION, "%s", c->file);
                cr_expect_str_eq(m.go_version, c->go_version, "%s", c->file);
                for (enum go_metric k = 0; k < _GO_METRIC_MAX; k++) {
                        double want;
                        bool in = scan_value(b, n, go_metric_name(k), &want);

                        cr_expect_eq(go_metrics_has(&m, k), in, "%s: %s present %d, in the body %d", c->file,
                                     go_metric_name(k), go_metrics_has(&m, k), in);
                        if (in && go_metrics_has(&m, k))
                                cr_expect_eq(m.value[k], want, "%s: %s = %.17g, body says %.17g", c->file,
                                             go_metric_name(k), m.value[k], want);
                }
                /* The other format fails: text has no "# EOF"; the
                 * OpenMetrics bodies of client_golang (1.14 and 1.25)
                 * declare go_memstats_alloc_bytes twice, as a gauge and as
                 * a counter, which text (expfmt) refuses. */
                if (c->fmt == T)
                        cr_expect_eq(promtext_parse(b, n, OM, count, &got, NULL), -EBADMSG, "%s as OM", c->file);
                else {
                        cr_expect_eq(promtext_parse(b, n, T, count, &got, &e), -EBADMSG, "%s as text", c->file);
                        cr_expect_str_eq(e.message, "second HELP line for go_memstats_alloc_bytes", "%s", c->file);
                }
                free(b);
        }
}

#define EXPECT_METRIC(m, k, v) \
        do { \
                cr_expect(go_metrics_has(&(m), k), #k " absent"); \
                cr_expect_eq((m).value[k], (double)(v), #k " = %.17g want %.17g", (m).value[k], (double)(v)); \
        } while (0)
#define EXPECT_ABSENT(m, k) cr_expect(!go_metrics_has(&(m), k), #k " present")

Test(promtext, go119_high_text_values) {
        struct go_metrics m;
        size_t n;
        char *b = load("metrics-high-plain.txt", &n);

        cr_assert_eq(promtext_go_extract(b, n, T, &m, NULL), 0);
        EXPECT_METRIC(m, GO_METRIC_GOROUTINES, 1056);
        EXPECT_METRIC(m, GO_METRIC_THREADS, 56);
        EXPECT_METRIC(m, GO_METRIC_HEAP_INUSE_BYTES, 2990080);
        EXPECT_METRIC(m, GO_METRIC_NEXT_GC_BYTES, 4194304);
        EXPECT_METRIC(m, GO_METRIC_HEAP_ALLOC_BYTES, 1346480);
        EXPECT_METRIC(m, GO_METRIC_SYS_BYTES, 18330888);
        EXPECT_METRIC(m, GO_METRIC_GC_DURATION_SUM, 0);
        EXPECT_METRIC(m, GO_METRIC_GC_DURATION_COUNT, 0);
        EXPECT_METRIC(m, GO_METRIC_RESIDENT_BYTES, 15142912);
        EXPECT_METRIC(m, GO_METRIC_CPU_SECONDS, 0.01);
        /* client_golang 1.14's default collector has no runtime/metrics. */
        EXPECT_ABSENT(m, GO_METRIC_GOMAXPROCS);
        EXPECT_ABSENT(m, GO_METRIC_GOMEMLIMIT_BYTES);
        EXPECT_ABSENT(m, GO_METRIC_GOROUTINES_RUNNING);
        cr_expect_str_eq(m.go_version, "go1.19.8");
        free(b);
}

Test(promtext, go119_high_openmetrics_values) {
        struct go_metrics m;
        size_t n;
        char *b = load("metrics-om-high-openmetrics.txt", &n);

        cr_assert_eq(promtext_go_extract(b, n, OM, &m, NULL), 0);
        EXPECT_METRIC(m, GO_METRIC_GOROUTINES, 1056);
        EXPECT_METRIC(m, GO_METRIC_THREADS, 57);
        EXPECT_METRIC(m, GO_METRIC_HEAP_INUSE_BYTES, 4382720);
        EXPECT_METRIC(m, GO_METRIC_NEXT_GC_BYTES, 6150072);
        EXPECT_METRIC(m, GO_METRIC_HEAP_ALLOC_BYTES, 3050272);
        EXPECT_METRIC(m, GO_METRIC_SYS_BYTES, 23115016);
        EXPECT_METRIC(m, GO_METRIC_GC_DURATION_SUM, 4.2243e-05);
        EXPECT_METRIC(m, GO_METRIC_GC_DURATION_COUNT, 1);
        EXPECT_METRIC(m, GO_METRIC_RESIDENT_BYTES, 17764352);
        EXPECT_METRIC(m, GO_METRIC_CPU_SECONDS, 0.03);
        free(b);
}

Test(promtext, go126_runtime_metrics_values) {
        struct go_metrics m;
        size_t n;
        char *b = load("metrics-go126-runtime-plain.txt", &n);

        cr_assert_eq(promtext_go_extract(b, n, T, &m, NULL), 0);
        EXPECT_METRIC(m, GO_METRIC_GOROUTINES, 106);
        EXPECT_METRIC(m, GO_METRIC_THREADS, 6);
        EXPECT_METRIC(m, GO_METRIC_GOMAXPROCS, 2);
        EXPECT_METRIC(m, GO_METRIC_GOMEMLIMIT_BYTES, 9.223372036854776e+18);
        EXPECT_METRIC(m, GO_METRIC_GOGC_PERCENT, 100);
        EXPECT_METRIC(m, GO_METRIC_GOROUTINES_RUNNING, 2);
        EXPECT_METRIC(m, GO_METRIC_GOROUTINES_RUNNABLE, 2);
        EXPECT_METRIC(m, GO_METRIC_GOROUTINES_WAITING, 109);
        EXPECT_METRIC(m, GO_METRIC_GOROUTINES_NOT_IN_GO, 0);
        EXPECT_METRIC(m, GO_METRIC_GOROUTINES_CREATED, 125);
        EXPECT_METRIC(m, GO_METRIC_THREADS_TOTAL, 5);
        EXPECT_METRIC(m, GO_METRIC_RESIDENT_BYTES, 11272192);
        cr_expect_str_eq(m.go_version, "go1.26.8");
        free(b);

        b = load("metrics-go126-runtime-openmetrics.txt", &n);
        cr_assert_eq(promtext_go_extract(b, n, OM, &m, NULL), 0);
        EXPECT_METRIC(m, GO_METRIC_GOROUTINES_RUNNABLE, 4);
        EXPECT_METRIC(m, GO_METRIC_GOROUTINES_WAITING, 107);
        EXPECT_METRIC(m, GO_METRIC_GOROUTINES_CREATED, 130);
        EXPECT_METRIC(m, GO_METRIC_HEAP_ALLOC_BYTES, 529264);
        free(b);

        /* Without -runtime-metrics: gomaxprocs, gomemlimit and gogc only. */
        b = load("metrics-go126-plain.txt", &n);
        cr_assert_eq(promtext_go_extract(b, n, T, &m, NULL), 0);
        cr_expect(go_metrics_has(&m, GO_METRIC_GOMAXPROCS));
        cr_expect(go_metrics_has(&m, GO_METRIC_GOMEMLIMIT_BYTES));
        EXPECT_ABSENT(m, GO_METRIC_GOROUTINES_RUNNING);
        EXPECT_ABSENT(m, GO_METRIC_GOROUTINES_CREATED);
        EXPECT_ABSENT(m, GO_METRIC_THREADS_TOTAL);
        free(b);
}

Test(promtext, capture_families_and_types) {
        struct got g;
        size_t n;
        char *b = load("metrics-om-high-openmetrics.txt", &n), *z = malloc(n + 1);

        memcpy(z, b, n);
        z[n] = '\0';
        parse_ok(z, OM, &g);
        /* Summary samples belong to their family; OM counters' _total. */
        cr_expect_str_eq(g.s[0].name, "go_gc_duration_seconds");
        cr_expect_str_eq(g.s[0].labels, "quantile=0.0");
        cr_expect_eq(g.s[0].type, PROMTEXT_TYPE_SUMMARY);
        cr_expect_str_eq(g.s[5].name, "go_gc_duration_seconds_sum");
        cr_expect_str_eq(g.s[5].family, "go_gc_duration_seconds");
        cr_expect_eq(g.s[5].type, PROMTEXT_TYPE_SUMMARY);
        cr_expect_eq(g.s[5].line, 8);
        /* go_memstats_alloc_bytes: a gauge family, then a counter family
         * of the same name (client_golang 1.14's duplicate). */
        cr_expect_str_eq(g.s[9].name, "go_memstats_alloc_bytes");
        cr_expect_eq(g.s[9].type, PROMTEXT_TYPE_GAUGE);
        cr_expect_str_eq(g.s[10].name, "go_memstats_alloc_bytes_total");
        cr_expect_str_eq(g.s[10].family, "go_memstats_alloc_bytes");
        cr_expect_eq(g.s[10].type, PROMTEXT_TYPE_COUNTER);
        free(z);
        free(b);
}

Test(promtext, content_types_of_the_captures) {
        static const struct {
                const char *file;
                enum promtext_format want;
        } h[] = {
                { "metrics-high-plain.headers.txt", T },
                { "metrics-high-openmetrics-accept.headers.txt", T },
                { "metrics-om-high-openmetrics.headers.txt", OM },
                { "metrics-go126-runtime-openmetrics.headers.txt", OM },
                { "metrics-go126-runtime-plain.headers.txt", T },
        };

        for (size_t i = 0; i < ELEMENTSOF(h); i++) {
                size_t n;
                char *b = load(h[i].file, &n), *z = malloc(n + 1), *ct, *eol;

                memcpy(z, b, n);
                z[n] = '\0';
                ct = strcasestr(z, "Content-Type:");
                cr_assert(ct, "%s", h[i].file);
                ct += strlen("Content-Type:");
                eol = strpbrk(ct, "\r\n");
                if (eol)
                        *eol = '\0';
                cr_expect_eq(promtext_format_from_content_type(ct), h[i].want, "%s: '%s'", h[i].file, ct);
                free(z);
                free(b);
        }
        cr_expect_eq(promtext_format_from_content_type(NULL), T);
        cr_expect_eq(promtext_format_from_content_type(""), T);
        cr_expect_eq(promtext_format_from_content_type("APPLICATION/OpenMetrics-Text"), OM);
        cr_expect_eq(promtext_format_from_content_type("application/openmetrics-textual"), T);
        cr_expect_eq(promtext_format_from_content_type("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily"), T);
}

/* ---- the formats, hand-made -------------------------------------------- */

Test(promtext, text_syntax) {
        struct got g;

        parse_ok("# a comment\n"
                 "\n"
                 "   \t\n"
                 "#\n"
                 "# HELP\n"
                 "# TYPE only_a_name\n"
                 "#HELP x_total Help with \\\\ and \\n.\n"
                 "#  TYPE   x_total  counter\n"
                 "x_total{a=\"b\",} 1\n"
                 "  x_total { a = \"c\" , b=\"\\\\\\\"\\n\" } 2 -17\n"
                 "x_total\t3\t1700000000000\n"
                 "# TYPE h HISTOGRAM\n"
                 "h_bucket{le=\"+Inf\"} 4\n"
                 "h_sum 1e3\n"
                 "h_count 4\n"
                 "h 9\n"
                 "other{}NaN\n"
                 "cr 1\r\n",
                 T, &g);
        cr_assert_eq(g.n, 9);
        cr_expect_str_eq(g.s[0].name, "x_total");
        cr_expect_str_eq(g.s[0].labels, "a=b");
        cr_expect_eq(g.s[0].type, PROMTEXT_TYPE_COUNTER);
        cr_expect_eq(g.s[0].line, 9);
        cr_expect(!g.s[0].has_ts);
        cr_expect_str_eq(g.s[1].labels, "a=c,b=\\\"\n");
        cr_expect_eq(g.s[1].value, 2);
        cr_expect(g.s[1].has_ts);
        cr_expect_eq(g.s[1].ts, -17);
        cr_expect_eq(g.s[2].ts, 1700000000000);
        cr_expect_eq(g.s[3].type, PROMTEXT_TYPE_HISTOGRAM);
        cr_expect_str_eq(g.s[3].family, "h");
        cr_expect_eq(g.s[4].value, 1000);
        cr_expect_eq(g.s[5].type, PROMTEXT_TYPE_HISTOGRAM);
        cr_expect_eq(g.s[6].type, PROMTEXT_TYPE_HISTOGRAM); /* the family's own name */
        cr_expect_str_eq(g.s[7].name, "other");
        cr_expect_eq(g.s[7].type, PROMTEXT_TYPE_NONE);
        cr_expect_str_eq(g.s[7].family, "other");
        cr_expect(isnan(g.s[7].value));
        cr_expect_str_eq(g.s[8].name, "cr");
        cr_expect_eq(g.s[8].value, 1);

        /* A text counter's _total is its name: x_created is its own. */
        parse_ok("# TYPE c counter\nc 1\nc_total 2\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n"
                 "s_bucket 4\n# HELP u untyped help only\nu 5\n# TYPE v untyped\nv 6\n",
                 T, &g);
        cr_assert_eq(g.n, 8);
        cr_expect_eq(g.s[0].type, PROMTEXT_TYPE_COUNTER);
        cr_expect_eq(g.s[1].type, PROMTEXT_TYPE_NONE);
        cr_expect_eq(g.s[2].type, PROMTEXT_TYPE_SUMMARY);
        cr_expect_eq(g.s[4].type, PROMTEXT_TYPE_SUMMARY);
        cr_expect_eq(g.s[5].type, PROMTEXT_TYPE_NONE); /* a summary has no _bucket */
        cr_expect_eq(g.s[6].type, PROMTEXT_TYPE_NONE); /* HELP alone declares no type */
        cr_expect_str_eq(g.s[6].family, "u");
        cr_expect_eq(g.s[7].type, PROMTEXT_TYPE_UNTYPED);

        /* A summary's or histogram's samples belong to it wherever they are. */
        parse_ok("# TYPE s summary\n# TYPE h histogram\nx 1\ns_count 2\nh_bucket{le=\"1\"} 3\ns_sum 4\n# HELP h_sum help\n"
                 "x_sum 5\n", T, &g);
        cr_assert_eq(g.n, 5);
        cr_expect_eq(g.s[1].type, PROMTEXT_TYPE_SUMMARY);
        cr_expect_str_eq(g.s[1].family, "s");
        cr_expect_eq(g.s[2].type, PROMTEXT_TYPE_HISTOGRAM);
        cr_expect_eq(g.s[3].type, PROMTEXT_TYPE_SUMMARY);
        cr_expect_eq(g.s[4].type, PROMTEXT_TYPE_NONE);
        cr_expect_str_eq(g.s[4].family, "x_sum");

        /* An empty body and a blank one are valid text with no sample. */
        parse_ok("", T, &g);
        cr_expect_eq(g.n, 0);
        parse_ok("\n\n  \n", T, &g);
        cr_expect_eq(g.n, 0);
        /* The last line may be blank without its LF. */
        parse_ok("a 1\n  ", T, &g);
        cr_expect_eq(g.n, 1);
}

Test(promtext, values) {
        static const struct {
                const char *v;
                double want;
                bool om; /* also valid OpenMetrics */
        } ok[] = {
                { "0", 0, true },         { "-0", -0.0, true },      { "1056", 1056, true },
                { "1.34648e+06", 1346480, true }, { "4.2243e-05", 4.2243e-05, true },
                { "1.8446744073709552e+19", 1.8446744073709552e+19, true },
                { "9.223372036854776e+18", 9.223372036854776e+18, true },
                { "1.7957157527981827e+09", 1.7957157527981827e+09, true },
                { "+3", 3, true },        { ".5", 0.5, true },       { "5.", 5, true },
                { "1E3", 1000, true },    { "0.1", 0.1, true },      { "123456789012345678901234567890", 1.2345678901234568e+29, true },
                { "0.000000000000000000000000001", 1e-27, true }, { "1e-400", 0, true },
                { "2.2250738585072014e-308", 2.2250738585072014e-308, true },
        };
        static const char *const inf[] = { "+Inf", "Inf", "inf", "INFINITY", "+infinity" };
        static const char *const bad[] = { "", "-", "+", ".", "e3", "1e", "1e+", "1..2", "1.2.3", "0x", "0x1", "0x1.8",
                                           "1_000", "0x1p-2", "0X1.8P1", "-0x10p0", "0x10", "nan1", "+NaN", "-nan", "infinit", "in", "12a", "1e400", "-1e400",
                                           "0x1p", "1,5", "١" };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                for (int om = 0; om <= (int)ok[i].om; om++) {
                        char body[128];
                        struct got g;

                        snprintf(body, sizeof body, "m %s\n%s", ok[i].v, om ? "# EOF\n" : "");
                        parse_ok(body, om ? OM : T, &g);
                        cr_expect_eq(g.s[0].value, ok[i].want, "'%s': %.17g want %.17g", ok[i].v, g.s[0].value,
                                     ok[i].want);
                        cr_expect_eq(signbit(g.s[0].value), signbit(ok[i].want), "'%s': sign", ok[i].v);
                }
        for (size_t i = 0; i < ELEMENTSOF(inf); i++) {
                char body[64];
                struct got g;

                snprintf(body, sizeof body, "m %s\n# EOF\n", inf[i]);
                parse_ok(body, OM, &g);
                cr_expect(isinf(g.s[0].value) && g.s[0].value > 0, "'%s'", inf[i]);
        }
        {
                struct got g;

                parse_ok("m -Inf\nn NaN\no nan\n", T, &g);
                cr_expect(isinf(g.s[0].value) && g.s[0].value < 0);
                cr_expect(isnan(g.s[1].value) && isnan(g.s[2].value));
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char body[64];

                snprintf(body, sizeof body, "m %s\n", bad[i]);
                parse_bad(body, T, 1, 3, "value");
                snprintf(body, sizeof body, "m %s\n# EOF\n", bad[i]);
                parse_bad(body, OM, 1, 3, "value");
        }
        parse_bad("m 1e400\n", T, 1, 3, "out of range");
        {
                /* A number longer than the strtod copy is refused, not cut. */
                char body[400] = "m 1";

                memset(body + 3, '0', 300);
                strcpy(body + 303, "\n");
                parse_bad(body, T, 1, 3, "expected a number as value");
        }
}

Test(promtext, timestamps) {
        struct got g;

        parse_ok("a 1 9223372036854775807\nb 1 -9223372036854775808\nc 1 +5\n", T, &g);
        cr_expect_eq(g.s[0].ts, INT64_MAX);
        cr_expect_eq(g.s[1].ts, INT64_MIN);
        cr_expect_eq(g.s[2].ts, 5);
        parse_bad("a 1 9223372036854775808\n", T, 1, 5, "expected integer (milliseconds) as timestamp");
        parse_bad("a 1 1.5\n", T, 1, 5, "timestamp");
        parse_bad("a 1 \n", T, 1, 5, "timestamp"); /* expfmt: an empty timestamp */
        parse_bad("a 1 2 3\n", T, 1, 6, "unexpected text after the timestamp");
        parse_bad("a 1 2 \n", T, 1, 6, "unexpected text after the timestamp");

        /* OpenMetrics: seconds, any decimal. */
        parse_ok("a 1 1520879607.789\nb 2 1\n# EOF\n", OM, &g);
        cr_expect(g.s[0].has_ts);
        cr_expect_eq(g.s[0].ts, 1520879607789);
        cr_expect_eq(g.s[1].ts, 1000);
        parse_bad("a 1 +Inf\n# EOF\n", OM, 1, 5, "expected seconds as timestamp");
        parse_bad("a 1 \n# EOF\n", OM, 1, 5, "expected seconds as timestamp");
        parse_bad("a 1 2 3\n# EOF\n", OM, 1, 6, "unexpected text after the timestamp");
}

Test(promtext, openmetrics_syntax) {
        struct got g;

        parse_ok("# TYPE foo counter\n"
                 "# HELP foo A \\\"quoted\\\" help \\\\ \\n é.\n"
                 "# UNIT foo seconds\n"
                 "foo_total{a=\"x\"} 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67 1520879602.890\n"
                 "foo_total{a=\"y\"} 18 # {} 1\n"
                 "foo_created{a=\"x\"} 1520430000.123\n"
                 "# TYPE hh histogram\n"
                 "hh_bucket{le=\"0.01\"} 0\n"
                 "hh_bucket{le=\"+Inf\"} 17 # {span=\"é\",x=\"\\\"\"} 0.1\n"
                 "hh_count 17\n"
                 "hh_sum 324789.3\n"
                 "hh_created 1520430000.123\n"
                 "# TYPE gh gaugehistogram\n"
                 "gh_bucket{le=\"+Inf\"} 1\n"
                 "gh_gcount 1\n"
                 "gh_gsum 2\n"
                 "# TYPE i info\n"
                 "i_info{version=\"1.2\"} 1\n"
                 "# TYPE st stateset\n"
                 "st{st=\"a\"} 1\n"
                 "# TYPE un unknown\n"
                 "un 1\n"
                 "# EOF",
                 OM, &g);
        cr_assert_eq(g.n, 14);
        cr_expect_str_eq(g.s[0].name, "foo_total");
        cr_expect_str_eq(g.s[0].family, "foo");
        cr_expect_eq(g.s[0].type, PROMTEXT_TYPE_COUNTER);
        cr_expect_eq(g.s[0].value, 17);
        cr_expect_eq(g.s[0].ts, 1520879607789);
        cr_expect(!g.s[1].has_ts);
        cr_expect_str_eq(g.s[2].name, "foo_created");
        cr_expect_eq(g.s[2].type, PROMTEXT_TYPE_COUNTER);
        cr_expect_eq(g.s[4].type, PROMTEXT_TYPE_HISTOGRAM);
        cr_expect_str_eq(g.s[4].labels, "le=+Inf");
        cr_expect_eq(g.s[7].type, PROMTEXT_TYPE_HISTOGRAM);
        cr_expect_eq(g.s[8].type, PROMTEXT_TYPE_GAUGEHISTOGRAM);
        cr_expect_eq(g.s[10].type, PROMTEXT_TYPE_GAUGEHISTOGRAM);
        cr_expect_eq(g.s[11].type, PROMTEXT_TYPE_INFO);
        cr_expect_str_eq(g.s[11].family, "i");
        cr_expect_eq(g.s[12].type, PROMTEXT_TYPE_STATESET);
        cr_expect_eq(g.s[13].type, PROMTEXT_TYPE_UNKNOWN);
        parse_ok("# EOF\n", OM, &g);
        cr_expect_eq(g.n, 0);
}

Test(promtext, callback_stops_and_errors_pass_through) {
        static const char body[] = "a 1\nb 2\nc 3\n";
        struct got g = { .stop_at = 2 };

        cr_expect_eq(promtext_parse(body, sizeof body - 1, T, collect, &g, NULL), 7);
        cr_expect_eq(g.n, 2);
        /* Stopped early, an OpenMetrics body needs no # EOF. */
        g = (struct got){ .stop_at = 1 };
        cr_expect_eq(promtext_parse(body, sizeof body - 1, OM, collect, &g, NULL), 7);
        cr_expect_eq(promtext_parse(body, sizeof body - 1, 9, collect, &g, NULL), -EINVAL);
        cr_expect_eq(promtext_parse(NULL, 0, T, collect, &g, NULL), 0);
        cr_expect_eq(promtext_parse(NULL, 1, T, collect, &g, NULL), -EINVAL);
}

/* Every error path, with its line and column. */
Test(promtext, errors_both_formats) {
        static const struct {
                const char *body;
                unsigned line, col;
                const char *msg;
        } both[] = {
                { "a 1\n1abc 2\n", 2, 1, "invalid metric name" },
                { "a{1=\"x\"} 1\n", 1, 3, "invalid label name" },
                { "a{__name__=\"x\"} 1\n", 1, 3, "__name__ is reserved" },
                { "a{b\"x\"} 1\n", 1, 4, "expected '=' after label name" },
                { "a{b=x} 1\n", 1, 5, "expected '\"' at start of label value" },
                { "a{b=\"x} 1\n", 1, 5, "no closing quote" },
                { "a{b=\"x\\t\"} 1\n", 1, 7, "invalid escape sequence" },
                { "a{b=\"x\\\n", 1, 7, "invalid escape sequence" },
                { "a{b=\"x\";c=\"y\"} 1\n", 1, 8, "expected ',' or '}'" },
                { "a{b=\"x\",b=\"y\"} 1\n", 1, 9, "duplicate label name \"b\"" },
                { "a{b=\"\xc3\x28\"} 1\n", 1, 6, "invalid UTF-8 in label value" },
                { "a{b=\"\xed\xa0\x80\"} 1\n", 1, 6, "invalid UTF-8" }, /* a surrogate */
                { "a{b=\"\xc0\xaf\"} 1\n", 1, 6, "invalid UTF-8" },     /* overlong */
                { "a{b=\"é\xff\"} 1\n", 1, 7, "invalid UTF-8" },        /* columns count characters */
                { "a{b=\"x\"\n", 1, 8, "expected ',' or '}'" },
                { "a{b=\"x\",\n", 1, 9, "unexpected end of line in label set" },
                { "# TYPE s summary\ns{quantile=\"x\"} 1\n", 2, 3, "'quantile' label" },
                { "# TYPE h histogram\nh_bucket{le=\"\"} 1\n", 2, 10, "'le' label" },
                { "# TYPE a gauge\n# TYPE a gauge\na 1\n", 2, 8, "second TYPE line for a" },
                { "# HELP a x\n# HELP a y\na 1\n", 2, 8, "second HELP line for a" },
                { "# TYPE a gaug\n", 1, 10, "unknown metric type \"gaug\"" },
                { "# HELP a bad \\t escape\n", 1, 14, "invalid escape sequence in HELP" },
        };

        for (size_t i = 0; i < ELEMENTSOF(both); i++) {
                char om[256];

                parse_bad(both[i].body, T, both[i].line, both[i].col, both[i].msg);
                snprintf(om, sizeof om, "%s\n# EOF\n", both[i].body);
                if (both[i].body[strlen(both[i].body) - 1] == '\n')
                        snprintf(om, sizeof om, "%s# EOF\n", both[i].body);
                parse_bad(om, OM, both[i].line, both[i].col, both[i].msg);
        }
}

Test(promtext, errors_text) {
        parse_bad("a 1", T, 1, 4, "unexpected end of input");
        parse_bad("a 1\n# comment at the end", T, 2, 21, "unexpected end of input");
        parse_bad("a{b=\"x\ny\"} 1\n", T, 1, 5, "no closing quote (a raw newline?)");
        parse_bad("a 1\nb\n", T, 2, 2, "expected a number as value, got \"\"");
        parse_bad("a$ 1\n", T, 1, 2, "expected a number as value, got \"$\"");
        parse_bad("# HELP a$ x\n", T, 1, 9, "invalid metric name in HELP line");
        parse_bad("# HELP 1a x\n", T, 1, 8, "invalid metric name in HELP line");
        parse_bad("a 1\n# TYPE a gauge\n", T, 2, 8, "TYPE line for a after its samples");
        parse_bad("# TYPE a gauge\na 1\n# TYPE a gauge\n", T, 3, 8, "second TYPE line for a");
        /* Families are keyed by name in the whole body, as in expfmt. */
        parse_bad("# TYPE a gauge\na 1\nb 2\n# TYPE a counter\n", T, 4, 8, "second TYPE line for a");
        parse_bad("# HELP a x\nb 2\n# HELP a y\n", T, 3, 8, "second HELP line for a");
        parse_bad("a 1\nb 2\n# TYPE a gauge\n", T, 3, 8, "TYPE line for a after its samples");
        parse_bad("# TYPE s summary\n# TYPE s_sum gauge\n", T, 2, 8, "second TYPE line for s");
        parse_bad("# HELP a x\na 1\n# HELP a y\n", T, 3, 8, "second HELP line for a");
        /* expfmt takes the rest of the line as the type. */
        parse_bad("# TYPE a gauge \n", T, 1, 10, "unknown metric type \"gauge \"");
        parse_bad("# TYPE a info\n", T, 1, 10, "unknown metric type \"info\"");
        /* An escaped quote is OpenMetrics HELP only. */
        parse_bad("# HELP a \\\"q\\\"\n", T, 1, 10, "invalid escape sequence in HELP");
        parse_bad("a{b=\"x\"}\n", T, 1, 9, "expected a number as value");
        parse_bad("a 1\r\nb 1\r\r\n", T, 2, 3, "expected a number as value, got \"1\r\"");
}

Test(promtext, errors_openmetrics) {
        parse_bad("a 1\n", OM, 2, 1, "missing # EOF");
        parse_bad("a 1", OM, 1, 4, "unexpected end of input (no newline, no # EOF)");
        parse_bad("", OM, 1, 1, "missing # EOF");
        parse_bad("# EOF\n\n", OM, 2, 1, "text after # EOF");
        parse_bad("# EOF\na 1\n", OM, 2, 1, "text after # EOF");
        parse_bad("a 1\n\n# EOF\n", OM, 2, 1, "blank line");
        parse_bad("a 1\r\n# EOF\n", OM, 1, 3, "expected a number as value");
        parse_bad("# EOF\r\n", OM, 1, 3, "unknown comment \"EOF\r\"");
        parse_bad("a  1\n# EOF\n", OM, 1, 3, "expected a number as value, got \"\"");
        parse_bad("a\t1\n# EOF\n", OM, 1, 2, "expected ' ' after the metric name");
        parse_bad("a\n# EOF\n", OM, 1, 2, "expected a value after the metric name");
        parse_bad("a{b=\"x\",} 1\n# EOF\n", OM, 1, 9, "trailing comma");
        parse_bad("a{b=\"x\", c=\"y\"} 1\n# EOF\n", OM, 1, 9, "invalid label name");
        parse_bad("a{b = \"x\"} 1\n# EOF\n", OM, 1, 4, "expected '=' after label name");
        parse_bad("a {b=\"x\"} 1\n# EOF\n", OM, 1, 3, "expected a number as value");
        parse_bad("# a comment\n# EOF\n", OM, 1, 3, "unknown comment \"a\"");
        parse_bad("#TYPE a gauge\n# EOF\n", OM, 1, 1, "expected \"# \"");
        parse_bad("#\n# EOF\n", OM, 1, 1, "expected \"# \"");
        parse_bad("# TYPE\n# EOF\n", OM, 1, 7, "expected a metric name after TYPE");
        parse_bad("# TYPE  a gauge\n# EOF\n", OM, 1, 8, "invalid metric name in TYPE line");
        parse_bad("# TYPE a\n# EOF\n", OM, 1, 9, "unknown metric type \"\"");
        parse_bad("# TYPE a untyped\n# EOF\n", OM, 1, 10, "unknown metric type \"untyped\"");
        parse_bad("# TYPE a Gauge\n# EOF\n", OM, 1, 10, "unknown metric type \"Gauge\"");
        parse_bad("# UNIT a sec-onds\n# EOF\n", OM, 1, 13, "invalid character in UNIT");
        parse_bad("# UNIT a s\n# UNIT a s\n# EOF\n", OM, 2, 8, "second UNIT line for a");
        parse_bad("# HELP a \xff\n# EOF\n", OM, 1, 10, "invalid UTF-8 in HELP");
        parse_bad("a 1 # {a=\"b\"}\n# EOF\n", OM, 1, 14, "expected ' ' and a value after the exemplar");
        parse_bad("a 1 # {a=\"b\"} x\n# EOF\n", OM, 1, 15, "exemplar value");
        parse_bad("a 1 # {a=\"b\"} 1 x\n# EOF\n", OM, 1, 17, "exemplar timestamp");
        parse_bad("a 1 # {a=\"b\"} 1 2 3\n# EOF\n", OM, 1, 18, "unexpected text after the exemplar");
        parse_bad("a 1 # x\n# EOF\n", OM, 1, 5, "expected \"# {\"");
        parse_bad("a 1 #\n# EOF\n", OM, 1, 5, "expected \"# {\"");
        parse_bad("a 1 2 #x\n# EOF\n", OM, 1, 7, "expected \"# {\"");
        parse_bad("a 1 # {a=\"\\x\"} 1\n# EOF\n", OM, 1, 11, "invalid escape sequence");
        /* OpenMetrics: a metadata line after the samples opens a new
         * family; before them a second one is an error (see both). */
        {
                struct got g;

                parse_ok("# TYPE a gauge\na 1\n# TYPE a counter\na_total 2\n# EOF\n", OM, &g);
                cr_expect_eq(g.s[0].type, PROMTEXT_TYPE_GAUGE);
                cr_expect_eq(g.s[1].type, PROMTEXT_TYPE_COUNTER);
        }
}

Test(promtext, bounds) {
        size_t n = PROMTEXT_LINE_MAX + 16, o;
        char *b = malloc(n + 64);
        struct got g;

        /* A line of exactly PROMTEXT_LINE_MAX bytes passes; one more fails. */
        o = (size_t)sprintf(b, "a{b=\"");
        memset(b + o, 'x', PROMTEXT_LINE_MAX - o - 4);
        o = PROMTEXT_LINE_MAX - 4;
        memcpy(b + o, "\"} 1\n", 6);
        cr_assert_eq(strlen(b), PROMTEXT_LINE_MAX + 1);
        parse_ok(b, T, &g);
        cr_expect_eq(g.n, 1);
        memmove(b + 6, b + 5, PROMTEXT_LINE_MAX - 4);
        b[5] = 'y';
        b[PROMTEXT_LINE_MAX + 2] = '\0';
        parse_bad_n(b, PROMTEXT_LINE_MAX + 2, T, 1, PROMTEXT_LINE_MAX + 1, "line longer than");
        /* The bound holds on a last line without its LF too. */
        memset(b, 'a', PROMTEXT_LINE_MAX + 1);
        parse_bad_n(b, PROMTEXT_LINE_MAX + 1, T, 1, PROMTEXT_LINE_MAX + 1, "line longer than");

        /* PROMTEXT_LABELS_MAX labels pass, one more fails. */
        o = (size_t)sprintf(b, "a{");
        for (unsigned i = 0; i < PROMTEXT_LABELS_MAX; i++)
                o += (size_t)sprintf(b + o, "l%u=\"\\\\%u\",", i, i);
        sprintf(b + o, "} 1\n");
        parse_ok(b, T, &g);
        cr_expect_eq(g.n, 1);
        sprintf(b + o, "zz=\"1\"} 1\n");
        parse_bad(b, T, 1, (unsigned)o + 1, "more than 64 labels");
        free(b);
        {
                /* PROMTEXT_FAMILIES_MAX names pass in text, one more fails;
                 * OpenMetrics keeps none. */
                size_t cap = (PROMTEXT_FAMILIES_MAX + 1) * 16 + 16;
                char *f = malloc(cap);

                o = 0;
                for (unsigned i = 0; i < PROMTEXT_FAMILIES_MAX; i++)
                        o += (size_t)sprintf(f + o, "m%u 1\n", i);
                parse_ok(f, T, &g);
                cr_expect_eq(g.n, PROMTEXT_FAMILIES_MAX);
                sprintf(f + o, "x_sum 1\n");
                parse_bad(f, T, PROMTEXT_FAMILIES_MAX + 1, 1, "more than 8192 metric families");
                sprintf(f + o, "m7 2\n# EOF\n");
                parse_ok(f, OM, &g);
                cr_expect_eq(g.n, PROMTEXT_FAMILIES_MAX + 1);
                free(f);
        }
        {
                static const char nul[] = "a 1\nb{c=\"x\0y\"} 1\n";

                parse_bad_n(nul, sizeof nul - 1, T, 2, 7, "NUL byte");
                parse_bad_n(nul, sizeof nul - 1, OM, 2, 7, "NUL byte");
        }
}

/* Label values with escapes come unescaped; the rest point into the body. */
struct check {
        const char *body;
        size_t n;
        int calls;
};

static int check_pointers(const struct promtext_sample *s, void *userdata) {
        struct check *k = userdata;

        k->calls++;
        cr_assert_eq(s->n_labels, 2);
        cr_expect(s->labels[0].value >= k->body && s->labels[0].value < k->body + k->n);
        cr_expect_eq(s->labels[0].value_len, 5);
        cr_expect(s->labels[1].value < k->body || s->labels[1].value >= k->body + k->n);
        cr_expect_eq(s->labels[1].value_len, 6);
        cr_expect(memcmp(s->labels[1].value, "e\\s\"c\n", 6) == 0);
        cr_expect(s->name == k->body);
        return 0;
}

Test(promtext, label_values_point_into_the_body_unless_escaped) {
        static const char body[] = "a{x=\"plain\",y=\"e\\\\s\\\"c\\n\"} 1\n";
        struct check c = { body, sizeof body - 1, 0 };

        cr_expect_eq(promtext_parse(body, sizeof body - 1, T, check_pointers, &c, NULL), 0);
        cr_expect_eq(c.calls, 1);
}

Test(promtext, go_extract_rules) {
        static const char body[] = "go_goroutines NaN\n"
                                   "go_goroutines{service=\"x\"} 5\n"
                                   "go_goroutines 6\n"
                                   "go_info{version=\"go1.22.0\"} 1\n"
                                   "go_info{version=\"go9\"} 1\n"
                                   "go_threads 7\n"
                                   "go_threadsx 8\n";
        struct go_metrics m = { 0 }, before;
        struct promtext_error e;

        cr_assert_eq(promtext_go_extract(body, sizeof body - 1, T, &m, NULL), 0);
        /* NaN is absent; then the first sample of the name, labels or not. */
        EXPECT_METRIC(m, GO_METRIC_GOROUTINES, 5);
        EXPECT_METRIC(m, GO_METRIC_THREADS, 7);
        cr_expect_str_eq(m.go_version, "go1.22.0");
        for (enum go_metric k = 0; k < _GO_METRIC_MAX; k++)
                if (k != GO_METRIC_GOROUTINES && k != GO_METRIC_THREADS)
                        EXPECT_ABSENT(m, k);
        cr_expect_null(go_metric_name(_GO_METRIC_MAX));
        cr_expect_str_eq(go_metric_name(GO_METRIC_GOROUTINES_CREATED), "go_sched_goroutines_created_goroutines_total");

        /* On an error *ret is untouched. */
        memset(&m, 0x5a, sizeof m);
        before = m;
        cr_expect_eq(promtext_go_extract("go_goroutines 1\nbad\n", 20, T, &m, &e), -EBADMSG);
        cr_expect_eq(e.line, 2);
        cr_expect(memcmp(&m, &before, sizeof m) == 0);
        /* A version too long for the buffer is absent. */
        {
                char big[200];

                snprintf(big, sizeof big, "go_info{version=\"%0100d\"} 1\n", 1);
                cr_assert_eq(promtext_go_extract(big, strlen(big), T, &m, NULL), 0);
                cr_expect(!(m.present & GO_METRICS_HAS_VERSION));
        }
        cr_expect_str_eq(promtext_type_to_string(PROMTEXT_TYPE_GAUGEHISTOGRAM), "gaugehistogram");
        cr_expect_null(promtext_type_to_string(_PROMTEXT_TYPE_MAX));
}
