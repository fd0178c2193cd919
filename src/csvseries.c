/* csvseries.c: the `seconds,value` replay parser; grammar in
 * include/gorral/csvseries.h. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/csvseries.h"

/* Longest number accepted: far more digits than a double holds. */
#define NUM_MAX 64

static bool blank(char c) {
        return c == ' ' || c == '\t';
}

static bool digit(char c) {
        return c >= '0' && c <= '9';
}

/* Is s[0..n) a decimal number of the grammar? */
static bool number_syntax(const char *s, size_t n) {
        size_t i = 0, d = 0;

        if (i < n && (s[i] == '+' || s[i] == '-'))
                i++;
        while (i < n && digit(s[i]))
                i++, d++;
        if (i < n && s[i] == '.') {
                i++;
                while (i < n && digit(s[i]))
                        i++, d++;
        }
        if (d == 0)
                return false;
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                size_t e = 0;

                i++;
                if (i < n && (s[i] == '+' || s[i] == '-'))
                        i++;
                while (i < n && digit(s[i]))
                        i++, e++;
                if (e == 0)
                        return false;
        }
        return i == n;
}

/* The field quoted for a message: at most 24 bytes, unprintable as '?'. */
static void quote(char *out, size_t outsz, const char *s, size_t n) {
        size_t k = 0;

        for (size_t i = 0; i < n && k + 4 < outsz; i++) {
                if (i == 24) {
                        out[k++] = '.';
                        out[k++] = '.';
                        out[k++] = '.';
                        break;
                }
                out[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        }
        out[k] = 0;
}

/* Parse field s[0..n) (blanks trimmed here). 0, or -EINVAL with why set. */
static int field(const char *s, size_t n, const char *name, double *ret, char *why, size_t whysz) {
        char tmp[NUM_MAX + 1], q[32];
        double x;

        while (n > 0 && blank(*s))
                s++, n--;
        while (n > 0 && blank(s[n - 1]))
                n--;
        if (n == 0) {
                snprintf(why, whysz, "%s is empty", name);
                return -EINVAL;
        }
        if (!number_syntax(s, n)) {
                quote(q, sizeof(q), s, n);
                snprintf(why, whysz, "%s '%s' is not a number", name, q);
                return -EINVAL;
        }
        if (n > NUM_MAX) {
                snprintf(why, whysz, "%s is longer than %d characters", name, NUM_MAX);
                return -EINVAL;
        }
        memcpy(tmp, s, n);
        tmp[n] = 0;
        x = strtod(tmp, NULL);
        if (!isfinite(x)) {
                quote(q, sizeof(q), s, n);
                snprintf(why, whysz, "%s '%s' is out of range", name, q);
                return -EINVAL;
        }
        *ret = x;
        return 0;
}

static int fail(struct csvseries_error *reterr, size_t line, int r, const char *why) {
        if (reterr) {
                reterr->line = line;
                snprintf(reterr->what, sizeof(reterr->what), "%s", why);
        }
        return r;
}

int csvseries_parse(const char *buf, size_t len, size_t max_samples, csvseries_cb cb, void *ctx,
                    struct csvseries_error *reterr) {
        size_t pos = 0, line = 0, count = 0;
        bool first = true, have_prev = false;
        double prev = 0;
        char why[128];

        if (max_samples > CSVSERIES_MAX_SAMPLES)
                max_samples = CSVSERIES_MAX_SAMPLES; /* and the count fits an int */
        while (pos < len) {
                const char *s = buf + pos, *nl = memchr(s, '\n', len - pos), *comma;
                size_t n = nl ? (size_t)(nl - s) : len - pos, k;
                double t, v;
                int r;

                pos += n + (nl != NULL);
                line++;
                if (n > 0 && s[n - 1] == '\r')
                        n--;
                for (k = 0; k < n && blank(s[k]); k++)
                        ;
                if (k == n)
                        continue;
                comma = memchr(s, ',', n);
                if (first) {
                        first = false;
                        if (field(s, comma ? (size_t)(comma - s) : n, "seconds", &t, why, sizeof(why)) < 0)
                                continue; /* a header */
                }
                if (!comma)
                        return fail(reterr, line, -EINVAL, "expected 'seconds,value', found no comma");
                if (memchr(comma + 1, ',', n - (size_t)(comma + 1 - s)))
                        return fail(reterr, line, -EINVAL, "expected 2 fields (seconds,value), found more");
                if (field(s, (size_t)(comma - s), "seconds", &t, why, sizeof(why)) < 0 ||
                    field(comma + 1, n - (size_t)(comma + 1 - s), "value", &v, why, sizeof(why)) < 0)
                        return fail(reterr, line, -EINVAL, why);
                if (have_prev && t <= prev) {
                        snprintf(why, sizeof(why), "seconds %.17g is not after the previous sample's %.17g", t, prev);
                        return fail(reterr, line, -EINVAL, why);
                }
                if (count == max_samples) {
                        snprintf(why, sizeof(why), "more than %zu samples", max_samples);
                        return fail(reterr, line, -E2BIG, why);
                }
                have_prev = true;
                prev = t;
                count++;
                if (cb) {
                        r = cb(ctx, t, v);
                        if (r < 0)
                                return r;
                }
        }
        return (int)count;
}
