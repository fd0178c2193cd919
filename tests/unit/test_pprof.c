/* Unit tests for src/pprof.c: the totals of the real Go 1.19 pprof
 * captures and hand-made broken first lines. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/pprof.h"
#include "gorral/util.h"

static char *load(const char *name, size_t *ret_n) {
        char path[512], *b = NULL;
        int r;

        snprintf(path, sizeof path, "%s/%s", SAMPLES, name);
        r = read_file(path, GR_READ_MAX, &b, ret_n);
        cr_assert_eq(r, 0, "read %s: %d", path, r);
        return b;
}

/* The sum of the "COUNT @ ..." group lines, found without the parser. */
static uint64_t sum_groups(const char *b) {
        uint64_t s = 0;

        for (const char *l = b; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                unsigned long long c;
                char at;

                if (*l >= '0' && *l <= '9' && sscanf(l, "%llu %c", &c, &at) == 2 && at == '@')
                        s += c;
        }
        return s;
}

Test(pprof, debug1_captures) {
        static const struct {
                const char *file;
                uint64_t total;
        } c[] = {
                { "pprof-goroutine-high-debug1.txt", 1053 },
                { "pprof-goroutine-low-debug1.txt", 3 },
                { "pprof-goroutine-minutes-debug1.txt", 1054 },
        };

        for (size_t i = 0; i < ELEMENTSOF(c); i++) {
                size_t n;
                char *b = load(c[i].file, &n);
                uint64_t t = 0;

                cr_assert_eq(pprof_parse_goroutine_total(b, n, &t), 0, "%s", c[i].file);
                cr_expect_eq(t, c[i].total, "%s: %llu", c[i].file, (unsigned long long)t);
                /* The total is the sum of the groups that follow it. */
                cr_expect_eq(t, sum_groups(b), "%s", c[i].file);
                /* Only the first line is read: a body cut after it is fine. */
                cr_expect_eq(pprof_parse_goroutine_total(b, strchr(b, '\n') + 1 - b, &t), 0);
                cr_expect_eq(t, c[i].total);
                free(b);
        }
        {
                size_t n;
                char *b = load("pprof-threadcreate-low-debug1.txt", &n);
                uint64_t t = 0;

                cr_expect_eq(pprof_parse_profile_total(b, n, "threadcreate", &t), 0);
                cr_expect_eq(t, 7);
                cr_expect_eq(pprof_parse_goroutine_total(b, n, &t), -EBADMSG);
                free(b);
        }
}

Test(pprof, debug2_has_no_total_and_is_counted) {
        static const struct {
                const char *file;
                uint64_t goroutines;
        } c[] = {
                { "pprof-goroutine-high-debug2.txt", 1053 },
                { "pprof-goroutine-low-debug2.txt", 3 },
        };

        for (size_t i = 0; i < ELEMENTSOF(c); i++) {
                size_t n;
                char *b = load(c[i].file, &n);
                uint64_t t = 99;

                cr_expect_eq(pprof_parse_goroutine_total(b, n, &t), -ENOMSG, "%s", c[i].file);
                cr_expect_eq(t, 99, "untouched on failure");
                cr_assert_eq(pprof_count_goroutines(b, n, &t), 0);
                cr_expect_eq(t, c[i].goroutines, "%s: %llu", c[i].file, (unsigned long long)t);
                free(b);
        }
        {
                /* The debug=1 body has no "goroutine N [" header. */
                size_t n;
                char *b = load("pprof-goroutine-high-debug1.txt", &n);
                uint64_t t = 99;

                cr_expect_eq(pprof_count_goroutines(b, n, &t), 0);
                cr_expect_eq(t, 0);
                free(b);
        }
}

Test(pprof, broken_first_lines) {
        static const char *const bad[] = {
                "",
                "\n",
                "goroutine profile: total 12",          /* no LF: maybe cut mid-number */
                "goroutine profile: total \n",
                "goroutine profile: total -1\n",
                "goroutine profile: total 1x\n",
                "goroutine profile: total  1\n",
                "goroutine profile: total 1 \n",
                "goroutine profile: total 18446744073709551616\n",
                "goroutine profile:total 1\n",
                "Goroutine profile: total 1\n",
                "heap profile: 1: 2 [3: 4] @ heap/1048576\n",
                "<html>404 page not found</html>\n",
                " goroutine profile: total 1\n",
                "goroutine profile: total 1\r\n",
        };
        static const char nul[] = "goroutine profile: total 1\0\n";
        uint64_t t = 5;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                cr_expect_eq(pprof_parse_goroutine_total(bad[i], strlen(bad[i]), &t), -EBADMSG, "'%s'", bad[i]);
                cr_expect_eq(t, 5);
        }
        cr_expect_eq(pprof_parse_goroutine_total(nul, sizeof nul - 1, &t), -EBADMSG);
        cr_expect_eq(pprof_parse_goroutine_total("goroutine profile: total 18446744073709551615\n", 46, &t), 0);
        cr_expect_eq(t, UINT64_MAX);
        cr_expect_eq(pprof_parse_goroutine_total("goroutine profile: total 0\n", 27, &t), 0);
        cr_expect_eq(t, 0);
        cr_expect_eq(pprof_parse_goroutine_total("goroutine 1 [running]:\n", 23, &t), -ENOMSG);
        cr_expect_eq(pprof_parse_goroutine_total(NULL, 1, &t), -EINVAL);
        cr_expect_eq(pprof_count_goroutines(NULL, 1, &t), -EINVAL);
        cr_expect_eq(pprof_count_goroutines("goroutine 1 [x]:\ngoroutine 2\ngoroutine x [\n goroutine 3 [\ngoroutine 4 [", 72,
                                            &t), 0);
        cr_expect_eq(t, 2);
}
