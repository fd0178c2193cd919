/* Fuzz the single-value parsers: v1 number files (cpu.cfs_quota_us,
 * cpu.cfs_period_us, memory.limit_in_bytes), v2 memory.max/memory.high
 * and cpuset lists, all on the same bytes. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *s = (const char *)data;
        int64_t v, v2;
        uint64_t u;
        unsigned c;
        char buf[32];
        int k;

        if (cg_parse_v1_int(s, size, &v) == 0) {
                /* Accepted text is the canonical decimal, maybe plus '\n'
                 * (leading zeros aside), so it must print back to itself. */
                k = snprintf(buf, sizeof buf, "%" PRId64, v);
                if (cg_parse_v1_int(buf, (size_t)k, &v2) < 0 || v2 != v)
                        abort();
        }
        if (cg_parse_memory_max(s, size, &u) == 0 && u != UINT64_MAX && size > 0 && (s[0] < '0' || s[0] > '9'))
                abort();
        /* Only an empty list counts zero CPUs. */
        if (cg_parse_cpuset(s, size, &c) == 0 && c == 0 && !(size == 0 || (size == 1 && s[0] == '\n')))
                abort();
        return 0;
}
