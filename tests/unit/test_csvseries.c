/* Unit tests for src/csvseries.c: the replay grammar (header, blank lines,
 * CRLF, a last line without LF, decimals and exponents), its errors with
 * the 1-based line and what was wrong, and the sample bound. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "gorral/csvseries.h"

struct got {
        unsigned n;
        double t[16], v[16];
};

static int collect(void *ctx, double t, double v) {
        struct got *g = ctx;

        if (g->n < 16) {
                g->t[g->n] = t;
                g->v[g->n] = v;
        }
        g->n++;
        return 0;
}

static int parse(const char *s, struct got *g, struct csvseries_error *e) {
        memset(g, 0, sizeof(*g));
        memset(e, 0, sizeof(*e));
        return csvseries_parse(s, strlen(s), CSVSERIES_MAX_SAMPLES, collect, g, e);
}

Test(csvseries, grammar) {
        struct got g;
        struct csvseries_error e;

        cr_assert_eq(parse("seconds,value\n0,10\n1.5,11\n\n 2.25 , 1.2e3 \r\n3,-4\n10,+7.", &g, &e), 5);
        cr_assert_eq(g.n, 5);
        cr_assert_eq(g.t[1], 1.5);
        cr_assert_eq(g.t[2], 2.25);
        cr_assert_eq(g.v[2], 1200);
        cr_assert_eq(g.v[3], -4);
        cr_assert_eq(g.t[4], 10, "a last line without LF");
        cr_assert_eq(g.v[4], 7);
        cr_assert_eq(parse("", &g, &e), 0, "empty input: no samples");
        cr_assert_eq(parse("\n\r\n  \n", &g, &e), 0, "blank lines only");
        cr_assert_eq(parse("t,goroutines\r\n", &g, &e), 0, "header only");
        cr_assert_eq(parse("\n\n# t,v\n5,1\n", &g, &e), 1, "the first non-blank line is the header");
        cr_assert_eq(parse("0,1\n1,2\n", &g, &e), 2, "no header");
        cr_assert_eq(parse(".5,1\n1e1,2E-1\n", &g, &e), 2);
        cr_assert_eq(g.t[0], 0.5);
        cr_assert_eq(g.v[1], 0.2);
}

static void bad(const char *s, size_t line, const char *what) {
        struct got g;
        struct csvseries_error e;

        cr_expect_eq(parse(s, &g, &e), -EINVAL, "%s", s);
        cr_expect_eq(e.line, line, "%s: line %zu", s, e.line);
        cr_expect(strstr(e.what, what) != NULL, "%s: '%s' lacks '%s'", s, e.what, what);
}

Test(csvseries, errors_name_the_line) {
        bad("seconds,value\n0,1\nx,2\n", 3, "seconds 'x' is not a number");
        bad("0,1\n1,abc\n", 2, "value 'abc' is not a number");
        bad("0,1\n1,2\n1,3\n", 3, "is not after the previous");
        bad("0,1\n2,2\n1,3\n", 3, "is not after the previous");
        bad("0,1\n1\n", 2, "no comma");
        bad("0,1\n1,2,3\n", 2, "found more");
        bad("0,1\n1,\n", 2, "value is empty");
        bad("0,1\n,1\n", 2, "seconds is empty");
        bad("0,1\n1,nan\n", 2, "not a number");
        bad("0,1\n1,inf\n", 2, "not a number");
        bad("0,1\n1,0x10\n", 2, "not a number");
        bad("0,1\n1,1e999\n", 2, "out of range");
        bad("0,1\n1,1e\n", 2, "not a number");
        bad("0,1\n1,--1\n", 2, "not a number");
        bad("0,1\n1,1 2\n", 2, "not a number");
        bad("0,1\n1,\x01\x02\n", 2, "'?" "?'");
        bad("h\n0,1\n\nfoo,bar\n", 4, "seconds 'foo'");
}

Test(csvseries, bounds_and_callback) {
        struct got g;
        struct csvseries_error e = { 0 };
        const char *s = "0,1\n1,2\n2,3\n";

        memset(&g, 0, sizeof(g));
        cr_assert_eq(csvseries_parse(s, strlen(s), 2, collect, &g, &e), -E2BIG);
        cr_assert_eq(e.line, 3);
        cr_assert(strstr(e.what, "more than 2 samples"));
        cr_assert_eq(csvseries_parse(s, strlen(s), 3, NULL, NULL, NULL), 3, "no callback: count only");
        cr_assert_eq(csvseries_parse("0,1\n1,x\n", 8, 3, NULL, NULL, NULL), -EINVAL, "reterr may be NULL");
        /* An embedded NUL is not a number, and the length is what counts. */
        cr_assert_eq(csvseries_parse("0,1\n1,\0002\n", 10, 10, NULL, NULL, &e), -EINVAL);
        cr_assert_eq(e.line, 2);
        cr_assert_eq(csvseries_parse("0,1\n1,2xxxx", 7, 10, NULL, NULL, &e), 2, "parse stops at len");
}

static int stop_at_second(void *ctx, double t, double v) {
        (void)v;
        (void)t;
        return ++*(int *)ctx == 2 ? -ECANCELED : 0;
}

Test(csvseries, callback_stops) {
        int n = 0;

        cr_assert_eq(csvseries_parse("0,1\n1,2\n2,3\n", 12, 10, stop_at_second, &n, NULL), -ECANCELED);
        cr_assert_eq(n, 2);
}
