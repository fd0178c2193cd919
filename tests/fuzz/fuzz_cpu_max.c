/* Fuzz cg_parse_cpu_max: whatever it accepts must be a quota > 0 or
 * "max", a period > 0, and print back to the same value. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gorral/cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct cg_quota q, q2;
        char buf[64];
        int k;

        if (cg_parse_cpu_max((const char *)data, size, &q) < 0)
                return 0;
        if (q.period_us == 0 || q.period_us > INT64_MAX || (q.quota_us <= 0 && q.quota_us != -1))
                abort();
        if (q.quota_us < 0)
                k = snprintf(buf, sizeof buf, "max %" PRIu64 "\n", q.period_us);
        else
                k = snprintf(buf, sizeof buf, "%" PRId64 " %" PRIu64 "\n", q.quota_us, q.period_us);
        if (cg_parse_cpu_max(buf, (size_t)k, &q2) < 0 || q2.quota_us != q.quota_us || q2.period_us != q.period_us)
                abort();
        return 0;
}
