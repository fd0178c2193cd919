/* promparse: parse throughput of promtext_parse() and promtext_go_extract()
 * over real /metrics captures, timed as bench/promparse-go times expfmt.
 * For each file (OpenMetrics when its name says "openmetrics"): one parse
 * to check it, then -n parses timed by promtext_parse with a callback that
 * only counts, then -n by promtext_go_extract. One line per (file, kind):
 * "name=... kind=parse|extract bytes=... iters=... cpu_ns=... wall_ns=...
 * samples=...". CPU time is the process's (CLOCK_PROCESS_CPUTIME_ID).
 * With -check, each FILE is parsed once as text and judged: "ACCEPT FILE
 * SAMPLES" or "REJECT FILE LINE MESSAGE", as promparse-go -check judges it
 * with expfmt (tests/integration/test_promtext_expfmt.sh compares them).
 * Usage: promparse [-n ITERS] FILE...  |  promparse -check FILE... */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "gorral/promtext.h"
#include "gorral/util.h"

static uint64_t cpu_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int count(const struct promtext_sample *s, void *userdata) {
        (void)s;
        (*(size_t *)userdata)++;
        return 0;
}

int main(int argc, char **argv) {
        long iters = 100000;
        int i = 1;

        if (argc > 1 && strcmp(argv[1], "-check") == 0) {
                for (i = 2; i < argc; i++) {
                        struct promtext_error e = { 0 };
                        size_t n, samples = 0;
                        char *b;
                        int r = read_file(argv[i], GR_READ_MAX, &b, &n);

                        if (r < 0) {
                                fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
                                return 1;
                        }
                        r = promtext_parse(b, n, PROMTEXT_TEXT, count, &samples, &e);
                        if (r == 0)
                                printf("ACCEPT %s %zu\n", argv[i], samples);
                        else
                                printf("REJECT %s %u %s\n", argv[i], e.line, e.message);
                        free(b);
                }
                return 0;
        }
        if (argc > 2 && strcmp(argv[1], "-n") == 0) {
                iters = strtol(argv[2], NULL, 10);
                i = 3;
        }
        for (; i < argc; i++) {
                const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
                enum promtext_format fmt = strstr(base, "openmetrics.txt") ? PROMTEXT_OPENMETRICS : PROMTEXT_TEXT;
                struct promtext_error e = { 0 };
                struct go_metrics m;
                size_t n, samples = 0, sink = 0;
                char *b;
                uint64_t c0, w0;
                int r;

                r = read_file(argv[i], GR_READ_MAX, &b, &n);
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
                        return 1;
                }
                r = promtext_parse(b, n, fmt, count, &samples, &e);
                if (r != 0) {
                        fprintf(stderr, "%s:%u:%u: %s\n", argv[i], e.line, e.column, e.message);
                        return 1;
                }
                c0 = cpu_ns(), w0 = mono_ns();
                for (long k = 0; k < iters; k++)
                        if (promtext_parse(b, n, fmt, count, &sink, NULL) != 0)
                                return 1;
                printf("name=%s kind=parse bytes=%zu iters=%ld cpu_ns=%llu wall_ns=%llu samples=%zu\n", base, n, iters,
                       (unsigned long long)(cpu_ns() - c0), (unsigned long long)(mono_ns() - w0), samples);
                c0 = cpu_ns(), w0 = mono_ns();
                for (long k = 0; k < iters; k++)
                        if (promtext_go_extract(b, n, fmt, &m, NULL) != 0)
                                return 1;
                printf("name=%s kind=extract bytes=%zu iters=%ld cpu_ns=%llu wall_ns=%llu samples=%zu\n", base, n,
                       iters, (unsigned long long)(cpu_ns() - c0), (unsigned long long)(mono_ns() - w0), samples);
                if (sink != samples * (size_t)iters)
                        return 1;
                free(b);
        }
        return 0;
}
