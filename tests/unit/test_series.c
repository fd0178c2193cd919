/* Unit tests for src/series.c: gaps stay gaps, the ring keeps the newest
 * rows in order, memory is fixed and lazily taken per column. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>

#include "gorral/series.h"

Test(series, bounds) {
        struct series *s = NULL;

        cr_assert_eq(series_new(0, 10, &s), -EINVAL);
        cr_assert_eq(series_new(3, 0, &s), -EINVAL);
        cr_assert_eq(series_new(SERIES_MAX_COLUMNS + 1, 10, &s), -EINVAL);
        cr_assert_eq(series_new(3, SERIES_MAX_ROWS + 1, &s), -EINVAL);
        cr_assert_null(s);
        cr_assert_eq(series_new(3, 4, &s), 0);
        cr_assert_eq(series_put(s, 0, 1.0), -EINVAL, "no row begun");
        series_begin(s, 100, 0);
        cr_assert_eq(series_put(s, 3, 1.0), -EINVAL, "column out of range");
        cr_assert_eq(series_capacity(s), 4);
        cr_assert_eq(series_columns(s), 3);
        series_free(s);
        cr_assert_null(series_free(NULL));
}

Test(series, gaps_are_not_zero) {
        struct series *s = NULL;
        double v = -1;

        cr_assert_eq(series_new(2, 8, &s), 0);
        cr_assert_not(series_last(s, 0, &v), "empty set has no value");
        series_begin(s, 1000, SERIES_RESET);
        cr_assert_eq(series_put(s, 0, 0.0), 0);
        cr_assert(series_last(s, 0, &v));
        cr_assert_eq(v, 0.0);
        cr_assert_not(series_last(s, 1, &v), "column 1 never set");
        cr_assert(isnan(series_value(s, 1, 0)));
        series_begin(s, 2000, 0);
        cr_assert_not(series_last(s, 0, &v), "a new row starts as gaps");
        cr_assert(isnan(series_value(s, 0, 1)));
        cr_assert_eq(series_value(s, 0, 0), 0.0);
        cr_assert_eq(series_put(s, 1, NAN), 0, "a NaN put is a gap and allocates nothing");
        cr_assert_eq(series_flags(s, 0), SERIES_RESET);
        cr_assert_eq(series_flags(s, 1), 0);
        series_free(s);
}

Test(series, ring_keeps_newest_in_order) {
        struct series *s = NULL;

        cr_assert_eq(series_new(1, 5, &s), 0);
        for (unsigned i = 0; i < 13; i++) {
                series_begin(s, 1000u * i, i == 7 ? SERIES_RESET : 0);
                cr_assert_eq(series_put(s, 0, (double)i), 0);
                cr_assert_eq(series_len(s), i + 1 < 5 ? i + 1 : 5);
        }
        for (uint32_t i = 0; i < 5; i++) {
                cr_assert_eq(series_value(s, 0, i), (double)(8 + i), "row %u", i);
                cr_assert_eq(series_time(s, i), 1000u * (8 + i));
                cr_assert_eq(series_flags(s, i), 0, "the reset row (7) has been overwritten");
        }
        cr_assert_eq(series_time(s, 5), 0, "past the end");
        cr_assert(isnan(series_value(s, 0, 5)));
        series_free(s);
}

Test(series, time_never_goes_back) {
        struct series *s = NULL;

        cr_assert_eq(series_new(1, 3, &s), 0);
        series_begin(s, 5000, 0);
        series_begin(s, 4000, 0);
        cr_assert_eq(series_time(s, 1), 5000);
        series_free(s);
}

Test(series, memory_is_fixed_and_lazy) {
        struct series *s = NULL;
        size_t base, one;

        cr_assert_eq(series_new(40, 360, &s), 0);
        base = series_bytes(s);
        for (unsigned i = 0; i < 1000; i++) {
                series_begin(s, i, 0);
                cr_assert_eq(series_put(s, 3, i), 0);
        }
        one = series_bytes(s);
        cr_assert_eq(one - base, 360 * sizeof(double), "one column in use: %zu bytes more", one - base);
        cr_assert_lt(one, 16 * 1024, "40 columns x 360 rows, one in use: %zu bytes", one);
        cr_assert_eq(series_dropped(s), 0);
        series_free(s);
}
