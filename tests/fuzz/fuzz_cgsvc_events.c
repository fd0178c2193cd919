/* Fuzz the cgroup.events parser: exactly size bytes (a heap copy, so ASan
 * sees a read past the end); a success must report 0 or 1. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/cgsvc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *buf = malloc(size ? size : 1);
        int pop = -7, frz = -7;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        if (cgsvc_parse_events(buf, size, &pop, &frz) == 0 && ((pop != 0 && pop != 1) || frz < -1 || frz > 1))
                abort();
        free(buf);
        return 0;
}
