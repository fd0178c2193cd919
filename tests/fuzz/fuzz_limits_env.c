/* Fuzz the readers of inherited GOMAXPROCS/GOMEMLIMIT values and the
 * --mem-ratio parser, then the whole policy with the input as both
 * inherited variables. Invariants: accepted values print back to a value
 * the reader accepts again with the same result; a decision never exports
 * a variable that was inherited, and never exports GOMEMLIMIT=0. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/cgroup.h"
#include "gorral/goenv.h"
#include "gorral/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct cg_limits cg = {
                .cpu_limited = true, .cpu_quota_us = 50000, .cpu_period_us = 100000,
                .mem_limited = true, .mem_bytes = 268435456,
        };
        struct limits_options o;
        struct limits_decision d;
        char s[256], buf[32];
        unsigned procs, procs2;
        uint64_t mem, mem2, ppm;

        if (size >= sizeof s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (strlen(s) != size)
                return 0; /* environment values cannot hold NUL */

        if (go_gomaxprocs_valid(s, &procs)) {
                if (procs == 0 || procs > INT32_MAX)
                        abort();
                snprintf(buf, sizeof buf, "%u", procs);
                if (!go_gomaxprocs_valid(buf, &procs2) || procs2 != procs)
                        abort();
        }
        if (go_gomemlimit_valid(s, &mem)) {
                if (mem > INT64_MAX)
                        abort();
                snprintf(buf, sizeof buf, "%" PRIu64, mem);
                if (!go_gomemlimit_valid(buf, &mem2) || mem2 != mem)
                        abort();
        }
        if (limits_parse_ratio(s, &ppm) >= 0 && (ppm == 0 || ppm > 1000000))
                abort();

        limits_options_init(&o);
        if (limits_decide(&cg, 8, NULL, s, s, &o, &d) < 0)
                abort();
        if (d.set_gomaxprocs || d.set_gomemlimit || d.n_warnings > 4)
                abort();
        if (limits_decide(&cg, 8, NULL, NULL, NULL, &o, &d) < 0 || !d.set_gomemlimit || d.gomemlimit == 0)
                abort();
        return 0;
}
