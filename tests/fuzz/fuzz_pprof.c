/* Fuzz the pprof text readers: no crash, no read outside the input; a
 * total only from a body whose first line is the total line; the
 * output untouched on failure. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gorral/pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *b = (const char *)data;
        uint64_t t = 12345, c = 0, lines = 0;
        int r;

        r = pprof_parse_goroutine_total(b, size, &t);
        if (r == 0) {
                if (size < 27 || memcmp(b, "goroutine profile: total ", 25) != 0 || !memchr(b, '\n', size))
                        abort();
        } else if ((r != -EBADMSG && r != -ENOMSG) || t != 12345)
                abort();
        if (pprof_count_goroutines(b, size, &c) != 0)
                abort();
        for (size_t i = 0; i < size; i++)
                lines += b[i] == '\n';
        if (c > lines + 1)
                abort();
        return 0;
}
