/* Fuzz the cgroup usage parsers: cg_parse_cpu_stat, cg_parse_memory_events,
 * cg_parse_oom_control (all through cg_parse_kv_keys) and
 * cg_parse_pressure. Each returns 0 or -EBADMSG with a position inside the
 * buffer; the three kv parsers agree on whether a buffer is malformed,
 * except for cpu.stat's own rule (throttled_usec and throttled_time, or
 * burst_usec and burst_time, together). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/cgstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const char *buf, size_t n, const struct cg_parse_error *e) {
        unsigned lines = 1;

        for (size_t i = 0; i < n; i++)
                lines += buf[i] == '\n';
        if (!e->reason || e->line < 1 || e->line > lines || e->column < 1 || e->column > n + 1)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *buf = malloc(size ? size : 1);
        struct cg_parse_error e = { 0 };
        struct cg_cpu_stat cs;
        struct cg_memory_events ev;
        struct cg_oom_control oc;
        struct cg_pressure p;
        int r1, r2, r3, r4;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        r1 = cg_parse_cpu_stat(buf, size, &cs, &e);
        if (r1 == -EBADMSG)
                check_error(buf, size, &e);
        else if (r1 != 0 || (cs.present & ~0xffu))
                abort();
        r2 = cg_parse_memory_events(buf, size, &ev, &e);
        if (r2 == -EBADMSG)
                check_error(buf, size, &e);
        else if (r2 != 0 || (ev.present & ~0x3fu))
                abort();
        r3 = cg_parse_oom_control(buf, size, &oc, &e);
        if (r3 == -EBADMSG)
                check_error(buf, size, &e);
        else if (r3 != 0 || (oc.present & ~0x7u))
                abort();
        if (r2 != r3 || (r1 == 0 && r2 != 0))
                abort();
        r4 = cg_parse_pressure(buf, size, &p, &e);
        if (r4 == -EBADMSG)
                check_error(buf, size, &e);
        else if (r4 != 0)
                abort();
        free(buf);
        return 0;
}
