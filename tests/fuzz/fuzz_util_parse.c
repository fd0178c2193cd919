/* Fuzz the command-line value parsers of util.c (durations, sizes,
 * signals, integers): no crash, nothing written on failure, and what
 * parses as an integer prints back to the same text. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char s[128], back[32];
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
        }
        if (parse_i64(s, &i) >= 0) {
                snprintf(back, sizeof back, "%" PRId64, i);
                int64_t j;
                if (parse_i64(back, &j) < 0 || j != i)
                        abort();
        }
        return 0;
}
