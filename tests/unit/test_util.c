/* Unit tests for src/util.c: number, size, duration and signal parsing,
 * paths, file reading. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gorral/util.h"

Test(util, parse_u64) {
        uint64_t v;

        cr_assert_eq(parse_u64("0", &v), 0);
        cr_assert_eq(v, 0);
        cr_assert_eq(parse_u64("18446744073709551615", &v), 0);
        cr_assert_eq(v, UINT64_MAX);
        cr_assert_eq(parse_u64("18446744073709551616", &v), -ERANGE);
        cr_assert_eq(parse_u64("", &v), -EINVAL);
        cr_assert_eq(parse_u64(" 1", &v), -EINVAL);
        cr_assert_eq(parse_u64("1 ", &v), -EINVAL);
        cr_assert_eq(parse_u64("+1", &v), -EINVAL);
        cr_assert_eq(parse_u64("-1", &v), -EINVAL);
        cr_assert_eq(parse_u64("0x10", &v), -EINVAL);
}

Test(util, parse_i64) {
        int64_t v;

        cr_assert_eq(parse_i64("-1", &v), 0);
        cr_assert_eq(v, -1);
        cr_assert_eq(parse_i64("9223372036854775807", &v), 0);
        cr_assert_eq(v, INT64_MAX);
        cr_assert_eq(parse_i64("-9223372036854775808", &v), 0);
        cr_assert_eq(v, INT64_MIN);
        cr_assert_eq(parse_i64("9223372036854775808", &v), -ERANGE);
        cr_assert_eq(parse_i64("-9223372036854775809", &v), -ERANGE);
        cr_assert_eq(parse_i64("-", &v), -EINVAL);
}

Test(util, parse_u32) {
        uint32_t v;

        cr_assert_eq(parse_u32("4294967295", &v), 0);
        cr_assert_eq(v, UINT32_MAX);
        cr_assert_eq(parse_u32("4294967296", &v), -ERANGE);
}

/* Arrays, not pointers: Criterion may run parameters in a fresh process
 * where string-literal addresses differ. */
struct dur_case { char s[32]; int r; uint64_t usec; };
ParameterizedTestParameters(util, duration) {
        static struct dur_case cases[] = {
                { "10", 0, 10000000 },   { "1.5s", 0, 1500000 }, { "250ms", 0, 250000 },
                { "100us", 0, 100 },     { "2m", 0, 120000000 },  { "1h", 0, 3600000000ULL },
                { "0", 0, 0 },           { "0.1", 0, 100000 },    { "1.25ms", 0, 1250 },
                { "", -EINVAL, 0 },      { "s", -EINVAL, 0 },     { "1.s", -EINVAL, 0 },
                { "-1s", -EINVAL, 0 },   { "1d", -EINVAL, 0 },    { "1 s", -EINVAL, 0 },
                { "99999999999999999999", -ERANGE, 0 },           { "999999999999999h", -ERANGE, 0 },
                /* Compound, as Go's time.ParseDuration. */
                { "1m30s", 0, 90000000 },  { "1h2m", 0, 3720000000ULL }, { "1h2m3s", 0, 3723000000ULL },
                { "1s500ms", 0, 1500000 }, { "2h45m0.5s", 0, 9900500000ULL }, { "1500ns", 0, 1 },
                { "1us500ns", 0, 1 },      { "10min", 0, 600000000 },  { "1m30", -EINVAL, 0 },
                { "30 s", -EINVAL, 0 },    { "1m 30s", -EINVAL, 0 },   { "10 seconds", -EINVAL, 0 },
                { "1h1x", -EINVAL, 0 },    { "m", -EINVAL, 0 },        { "1mm", -EINVAL, 0 },
                { "1h1.", -EINVAL, 0 },    { "5000000h", 0, 18000000000000000ULL },
                { "6000000h", -ERANGE, 0 }, { "3000000h3000000h", 0, 21600000000000000ULL },
        };
        return cr_make_param_array(struct dur_case, cases, sizeof cases / sizeof cases[0]);
}
ParameterizedTest(struct dur_case *c, util, duration) {
        uint64_t v = 42;
        int r = parse_duration_usec(c->s, &v);

        cr_assert_eq(r, c->r, "'%s': r=%d want %d", c->s, r, c->r);
        if (r == 0)
                cr_assert_eq(v, c->usec, "'%s': %llu want %llu", c->s, (unsigned long long)v,
                             (unsigned long long)c->usec);
        else
                cr_assert_eq(v, 42, "output written on failure");
}

Test(util, size) {
        uint64_t v;

        cr_assert_eq(parse_size_bytes("512", &v), 0);
        cr_assert_eq(v, 512);
        cr_assert_eq(parse_size_bytes("256MiB", &v), 0);
        cr_assert_eq(v, 256ULL << 20);
        cr_assert_eq(parse_size_bytes("1.5G", &v), 0);
        cr_assert_eq(v, 3ULL << 29);
        cr_assert_eq(parse_size_bytes("1.5", &v), -EINVAL);
        cr_assert_eq(parse_size_bytes("1MB", &v), -EINVAL);
        cr_assert_eq(parse_size_bytes("99999999999T", &v), -ERANGE);
}

Test(util, signals) {
        int s;

        cr_assert_eq(parse_signal("TERM", &s), 0);
        cr_assert_eq(s, SIGTERM);
        cr_assert_eq(parse_signal("SIGQUIT", &s), 0);
        cr_assert_eq(s, SIGQUIT);
        cr_assert_eq(parse_signal("sigusr1", &s), 0);
        cr_assert_eq(s, SIGUSR1);
        cr_assert_eq(parse_signal("9", &s), 0);
        cr_assert_eq(s, SIGKILL);
        cr_assert_eq(parse_signal("0", &s), -ERANGE);
        cr_assert_eq(parse_signal("65", &s), -ERANGE);
        cr_assert_eq(parse_signal("NOPE", &s), -EINVAL);
        cr_assert_str_eq(signal_to_name(SIGTERM), "SIGTERM");
        cr_assert_str_eq(signal_to_name(SIGWINCH), "SIGWINCH");
        cr_assert_str_eq(signal_to_name(40), "SIG40");
        for (int i = 1; i < 32; i++) {
                if (strncmp(signal_to_name(i), "SIG", 3) != 0 || parse_signal(signal_to_name(i), &s) < 0)
                        continue;
                cr_assert_eq(s, i, "round trip of %s", signal_to_name(i));
        }
}

Test(util, paths) {
        char *p = path_join("/sys/fs/cgroup/", "/cpu");

        cr_assert_str_eq(p, "/sys/fs/cgroup/cpu");
        free(p);
        cr_assert(path_has_prefix("/a/b", "/a"));
        cr_assert(path_has_prefix("/a", "/a"));
        cr_assert(path_has_prefix("/a/b", "/a/"));
        cr_assert(!path_has_prefix("/ab", "/a"));
        cr_assert(path_has_prefix("/anything", "/"));
        cr_assert(!path_has_prefix("relative", "/"));
}

Test(util, read_file) {
        char tmpl[] = "/tmp/gorral-util-XXXXXX";
        int fd = mkstemp(tmpl);
        char *buf;
        size_t len;

        cr_assert_geq(fd, 0);
        cr_assert_eq(write_all(fd, "hello\n", 6), 0);
        close(fd);
        cr_assert_eq(read_file(tmpl, 100, &buf, &len), 0);
        cr_assert_eq(len, 6);
        cr_assert_str_eq(buf, "hello\n");
        free(buf);
        cr_assert_eq(read_file(tmpl, 3, &buf, &len), -EFBIG);
        unlink(tmpl);
        cr_assert_eq(read_file(tmpl, 100, &buf, &len), -ENOENT);
        /* procfs reports size 0 but has content */
        cr_assert_eq(read_file("/proc/self/status", GR_READ_MAX, &buf, &len), 0);
        cr_assert(len > 0 && strstr(buf, "Threads:"));
        free(buf);
}

/* Sizes around the 4 KiB read on the stack, and the limit itself: every
 * byte comes back, in order, NUL-terminated. */
Test(util, read_file_sizes) {
        static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 8192, 8193, 100000 };
        char tmpl[] = "/tmp/gorral-util-XXXXXX";
        static char data[100000];

        for (size_t i = 0; i < sizeof data; i++)
                data[i] = (char)('a' + i % 23);
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
                int fd = mkstemp(tmpl);
                char *buf;
                size_t len;

                cr_assert_geq(fd, 0);
                cr_assert_eq(write_all(fd, data, sizes[k]), 0);
                close(fd);
                cr_assert_eq(read_file(tmpl, GR_READ_MAX, &buf, &len), 0, "size %zu", sizes[k]);
                cr_assert_eq(len, sizes[k]);
                cr_assert_eq(memcmp(buf, data, len), 0, "size %zu", sizes[k]);
                cr_assert_eq(buf[len], '\0');
                free(buf);
                if (sizes[k] > 0) {
                        cr_assert_eq(read_file(tmpl, sizes[k], &buf, &len), 0, "exactly the limit, %zu", sizes[k]);
                        cr_assert_eq(len, sizes[k]);
                        free(buf);
                        cr_assert_eq(read_file(tmpl, sizes[k] - 1, &buf, &len), -EFBIG, "one over, %zu", sizes[k]);
                }
                unlink(tmpl);
                memcpy(tmpl + strlen(tmpl) - 6, "XXXXXX", 6);
        }
}

Test(util, json_fputs) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        cr_assert_not_null(f);
        json_fputs(f, "a\"b\\c\nd\te\x01/");
        fputc(' ', f);
        json_fputs(f, NULL);
        fclose(f);
        cr_assert_str_eq(out, "\"a\\\"b\\\\c\\nd\\te\\u0001/\" null");
        free(out);
}

Test(util, utc_from_epoch_matches_gmtime) {
        static const int64_t fixed[] = { 0, -1, 86399, 86400, 951782400 /* 2000-02-29 */, 4107542400 /* 2100-03-01 */,
                                         -2208988800 /* 1900-01-01 */, 1795000000, 253402300799 /* 9999-12-31 */ };
        struct utc_time u;
        struct tm tm;

        for (size_t i = 0; i < ELEMENTSOF(fixed) + 20000; i++) {
                /* the fixed cases, then a sweep of days across four centuries */
                int64_t t = i < ELEMENTSOF(fixed) ? fixed[i] : -4102444800LL + (int64_t)i * 86400 * 7 + 3723;
                time_t tt = (time_t)t;

                utc_from_epoch(t, &u);
                cr_assert_not_null(gmtime_r(&tt, &tm));
                cr_assert(u.year == tm.tm_year + 1900 && u.month == (unsigned)tm.tm_mon + 1 &&
                                  u.day == (unsigned)tm.tm_mday && u.hour == (unsigned)tm.tm_hour &&
                                  u.minute == (unsigned)tm.tm_min && u.second == (unsigned)tm.tm_sec,
                          "t=%lld: %d-%u-%u %u:%u:%u", (long long)t, u.year, u.month, u.day, u.hour, u.minute,
                          u.second);
        }
}

Test(util, fmt_integers_match_printf) {
        static const int64_t v[] = { 0, 1, -1, 9, 10, 999, 1000, -1000, 1500, -1500, 319429, 4294967296LL,
                                     INT64_MAX, INT64_MIN, INT64_MIN + 1 };
        char buf[FMT_INT_MAX], want[64];

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                snprintf(want, sizeof want, "%lld", (long long)v[i]);
                cr_assert_str_eq(fmt_i64(buf, v[i]), want);
                snprintf(want, sizeof want, "%llu", (unsigned long long)v[i]);
                cr_assert_str_eq(fmt_u64(buf, (uint64_t)v[i]), want);
                /* exact where a double holds the value: every duration gorral logs */
                if (v[i] > -(INT64_C(1) << 52) && v[i] < (INT64_C(1) << 52)) {
                        snprintf(want, sizeof want, "%.3f", (double)v[i] / 1000.0);
                        cr_assert_str_eq(fmt_ms(buf, v[i]), want);
                }
        }
        cr_assert_str_eq(fmt_u64(buf, UINT64_MAX), "18446744073709551615");
        cr_assert_str_eq(fmt_ms(buf, INT64_MIN), "-9223372036854775.808");
        cr_assert_str_eq(fmt_ms(buf, 1), "0.001");
        cr_assert_str_eq(fmt_ms(buf, -1), "-0.001");
}

Test(util, fmt_utc_ms_matches_gmtime) {
        static const int64_t usec[] = { 0, -1, 999, 1000, 1796164707553123LL, -2208988800000000LL,
                                        253402300799999999LL };
        char buf[UTC_MS_LEN], want[64];
        struct tm tm;

        for (size_t i = 0; i < ELEMENTSOF(usec); i++) {
                int64_t s = usec[i] / 1000000, rem = usec[i] % 1000000;
                time_t tt;

                if (rem < 0) {
                        rem += 1000000;
                        s--;
                }
                tt = (time_t)s;
                cr_assert_not_null(gmtime_r(&tt, &tm));
                snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(rem / 1000));
                fmt_utc_ms(buf, usec[i]);
                cr_assert_str_eq(buf, want, "usec=%lld", (long long)usec[i]);
        }
        fmt_utc_ms(buf, 1796164707553999LL);
        cr_assert_str_eq(buf, "2026-12-01T22:38:27.553Z");
}

Test(util, grow_array) {
        int *v = NULL;
        size_t cap = 0, nc = 0;

        cr_assert_eq(GROW_ARRAY(v, cap, 1, 100), 0);
        cr_assert_eq(cap, 8);
        v[0] = 1;
        cr_assert_eq(GROW_ARRAY(v, cap, 8, 100), 0);
        cr_assert_eq(cap, 8, "no growth when it fits");
        cr_assert_eq(GROW_ARRAY(v, cap, 9, 100), 0);
        cr_assert_eq(cap, 16);
        cr_assert_eq(GROW_ARRAY(v, cap, 40, 100), 0);
        cr_assert_eq(cap, 40, "grows to need when doubling is short");
        cr_assert_eq(GROW_ARRAY(v, cap, 90, 100), 0);
        cr_assert_eq(cap, 90, "doubling 40 gives 80, short of 90");
        cr_assert_eq(GROW_ARRAY(v, cap, 95, 100), 0);
        cr_assert_eq(cap, 100, "capped at max");
        cr_assert_eq(GROW_ARRAY(v, cap, 101, 100), -ENOSPC);
        cr_assert_eq(cap, 100, "unchanged on failure");
        cr_assert_eq(v[0], 1, "contents kept");
        free(v);
        cr_assert_eq(grow_capacity(0, 2, SIZE_MAX / 2, SIZE_MAX, &nc), -ENOMEM);
}

Test(util, strv_pack_one_block) {
        char *src[] = { "A=1", "", "LONGER_NAME=some value", NULL };
        char **v = NULL;

        cr_assert_eq(strv_pack(NULL, &v), 0);
        cr_assert_null(v);
        cr_assert_eq(strv_pack(src, &v), 0);
        cr_assert_not_null(v);
        cr_assert(strv_eq(v, src));
        cr_assert_null(v[3]);
        /* The strings follow the pointer array, in order, in the same block. */
        cr_assert_eq((void *)v[0], (void *)(v + 4));
        cr_assert_eq(v[1], v[0] + 4);
        cr_assert_eq(v[2], v[1] + 1);
        cr_assert_neq((void *)v[0], (void *)src[0]);
        free(v);

        char *empty[] = { NULL };
        cr_assert_eq(strv_pack(empty, &v), 0);
        cr_assert_not_null(v);
        cr_assert_null(v[0]);
        free(v);
}

Test(util, bytes_scaled_units) {
        const char *u;

        cr_assert_eq(bytes_scaled(1023, &u), 1023);
        cr_assert_null(u);
        cr_assert_eq(bytes_scaled(1024, &u), 1);
        cr_assert_str_eq(u, "KiB");
        cr_assert_eq(bytes_scaled(268435456, &u), 256);
        cr_assert_str_eq(u, "MiB");
        cr_assert_eq(bytes_scaled(-3.0 * 1024 * 1024 * 1024, &u), -3);
        cr_assert_str_eq(u, "GiB");
        /* v1's "no limit" (LONG_MAX rounded to a page): the largest unit. */
        cr_assert_float_eq(bytes_scaled(9223372036854771712.0, &u), 8.0, 1e-9);
        cr_assert_str_eq(u, "EiB");
}
