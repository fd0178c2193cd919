/* Fuzz the command-line value parsers of util.c (durations, sizes,
 * signals, integers): no crash, nothing written on failure, and what
 * parses as an integer prints back to the same text; the log's own
 * formatters (fmt_u64, fmt_i64, fmt_ms, fmt_utc_ms) agree with printf on
 * every value parsed. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char s[128], back[32], f[FMT_INT_MAX], t[UTC_MS_LEN];
        uint64_t u = 7, v = 7;
        int64_t i;
        int sig = -1;

        if (size >= sizeof s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';

        if (parse_duration_usec(s, &u) < 0 && u != 7)
                abort();
        if (parse_size_bytes(s, &v) < 0 && v != 7)
                abort();
        if (parse_signal(s, &sig) >= 0) {
                if (sig < 1 || sig >= 65)
                        abort();
                (void)signal_to_name(sig);
        } else if (sig != -1)
                abort();
        if (parse_u64(s, &u) >= 0) {
                snprintf(back, sizeof back, "%" PRIu64, u);
                /* leading zeros are accepted, so compare values */
                if (parse_u64(back, &v) < 0 || v != u)
                        abort();
                if (strcmp(fmt_u64(f, u), back) != 0)
                        abort();
        }
        if (parse_i64(s, &i) >= 0) {
                snprintf(back, sizeof back, "%" PRId64, i);
                int64_t j;
                if (parse_i64(back, &j) < 0 || j != i)
                        abort();
                if (strcmp(fmt_i64(f, i), back) != 0)
                        abort();
                /* "%.3f" is exact while a double holds the value */
                if (i > -(INT64_C(1) << 52) && i < (INT64_C(1) << 52)) {
                        snprintf(back, sizeof back, "%.3f", (double)i / 1000.0);
                        if (strcmp(fmt_ms(f, i), back) != 0)
                                abort();
                }
                fmt_utc_ms(t, i);
                if (strlen(t) != 24 || t[4] != '-' || t[10] != 'T' || t[19] != '.' || t[23] != 'Z')
                        abort();
        }
        return 0;
}
